"""The ASGI application: settings, create_app(), lifespan, auth, context, command line."""
