"""The dashboard's pages (login, instances, live session, webhooks), cookie sessions with CSRF."""
