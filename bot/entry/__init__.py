"""Entry points and assembly: the command line, the Bolt app, WSGI serving. Only here does
configuration become running services, and only here is the clock read."""
