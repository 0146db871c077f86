"""The real WhatsApp driver, on neonize (whatsmeow). Only session runners import this package.

Nothing here imports neonize itself until a client is made (see loader.py).
"""
