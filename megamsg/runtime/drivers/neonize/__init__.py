"""The real WhatsApp driver, on neonize (whatsmeow). Only session runners import this package.

driver.NeonizeDriver is the Driver, assembled from two mixins over core.NeonizeCore (the shared
state, client lock and publishing): session.SessionLoop (client lifecycle, retries) and
dispatch.EventDispatch (neonize callbacks → state and events). events (protobuf → event dicts),
sending (outgoing checks and calls), store (the session store) and loader are plain functions.
Nothing imports neonize itself until loader.load_neonize() is first called.
"""
