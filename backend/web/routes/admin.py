"""The admin pages (admins only, as in the API): employees with their Telegram binding and
invites, departments, routes, and deliveries that failed. Their words are in
``backend/web/locales/admin_*.py``."""

from fastapi import APIRouter
from fastapi.responses import Response

from backend.web.context import AdminPageDep
from backend.web.rendering import redirect
from backend.web.routes import admin_outbox, admin_people, admin_routes

router = APIRouter()


@router.get("/admin")
async def admin_home(page: AdminPageDep) -> Response:
    return redirect(page, "/admin/employees")


for part in (admin_people.router, admin_routes.router, admin_outbox.router):
    router.include_router(part)
