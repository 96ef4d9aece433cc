"""The approval engine: the life cycle of a request, its routes and the one transition function.

Free of FastAPI and aiogram: both front doors call into it through ``backend.services``.
"""
