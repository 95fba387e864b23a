"""Browser views of the creators app: thin wrappers that parse input, call one service or
selector, and render. Domain errors are shown next to the form with their 4xx status."""

from __future__ import annotations

import mimetypes
import tempfile
from collections.abc import AsyncIterator, Iterator
from typing import IO, Any, cast

from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.core.handlers.asgi import ASGIRequest
from django.db.models.fields.files import FieldFile
from django.http import (
    FileResponse,
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBase,
    StreamingHttpResponse,
)
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from creators import errors as creator_errors
from creators import selectors, services
from creators.forms import (
    CreatorApplicationForm,
    MerchEditForm,
    MerchItemForm,
    OrderForm,
    PostForm,
    UnlockForm,
    new_idempotency_key,
)
from creators.models import Creator, MerchItem, Order, Post, Unlock
from creators.statements import write_statement
from wallet.errors import CoinSiteError
from wallet.models import User
from wallet.selectors import coin_balance

# Types a browser may show inline from /posts/<id>/file/; anything else is a download.
INLINE_TYPES = {"image/png", "image/jpeg", "image/gif", "image/webp", "application/pdf", "text/plain"}


def _viewer(request: HttpRequest) -> User:
    # Only called behind login_required.
    return cast(User, request.user)


def _own_creator(user: Any) -> Creator | None:
    return Creator.objects.filter(user_id=user.pk).first()


def _studio_creator(request: HttpRequest) -> Creator | None:
    creator = _own_creator(request.user)
    return creator if creator is not None and creator.is_approved else None


def _private_file(field_file: FieldFile, download_name: str) -> FileResponse:
    """Stream a file from MEDIA_ROOT (never served by path) with headers that keep a hostile
    upload from running as a page of this site."""
    try:
        handle = field_file.open("rb")
    except (FileNotFoundError, ValueError) as exc:
        raise Http404(creator_errors.FILE_NOT_FOUND) from exc
    content_type = mimetypes.guess_type(download_name)[0] or "application/octet-stream"
    inline = content_type in INLINE_TYPES
    response = FileResponse(
        handle,
        as_attachment=not inline,
        filename=download_name or "file",
        content_type=content_type if inline else "application/octet-stream",
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


# ---------------------------------------------------------------- onboarding and profile


@login_required
@require_http_methods(["GET", "POST"])
def apply(request: HttpRequest) -> HttpResponse:
    creator = _own_creator(request.user)
    if creator is not None and creator.is_approved:
        return redirect("creators:studio")
    can_apply = creator is None or creator.status == Creator.Status.REJECTED
    initial = {}
    if creator is not None:
        initial = {
            "display_name": creator.display_name,
            "handle": creator.handle,
            "category": creator.category,
            "bio": creator.bio,
        }
    form = CreatorApplicationForm(request.POST or None, initial=initial, user=request.user)
    status = 200
    if request.method == "POST":
        if not can_apply:
            messages.error(request, creator_errors.APPLICATION_PENDING)
            return redirect("creators:apply")
        if form.is_valid():
            try:
                services.apply_for_creator(user=_viewer(request), **form.cleaned_data)
            except CoinSiteError as exc:
                form.add_error("handle" if exc.code.startswith("handle_") else None, exc.message)
                status = exc.status
            else:
                messages.success(request, creator_errors.APPLICATION_SENT)
                return redirect("creators:apply")
        else:
            status = 400
    return render(
        request,
        "creators/apply.html",
        {"form": form, "creator": creator, "can_apply": can_apply},
        status=status,
    )


@require_GET
def profile(request: HttpRequest, handle: str) -> HttpResponse:
    creator = selectors.public_creator(handle=handle, viewer=request.user)
    if creator is None:
        raise Http404(creator_errors.NO_SUCH_CREATOR)
    return render(
        request,
        "creators/profile.html",
        {"profile": selectors.creator_profile(creator=creator, viewer=request.user)},
    )


# ---------------------------------------------------------------- posts


def _post_page(request: HttpRequest, post: Post, *, error: str = "", status: int = 200) -> HttpResponse:
    user = request.user
    can_see = selectors.can_see_premium(viewer=user, post=post)
    unlocked = user.is_authenticated and Unlock.objects.filter(user_id=user.pk, post=post).exists()
    file_type = mimetypes.guess_type(post.premium_file_name)[0] or "" if post.premium_file else ""
    context = {
        "post": post,
        "creator": post.creator,
        "can_see_premium": can_see,
        "unlocked": unlocked,
        "is_owner": user.is_authenticated and post.creator.user_id == user.pk,
        "file_is_image": file_type.startswith("image/") and file_type in INLINE_TYPES,
        "idempotency_key": new_idempotency_key(),
        "balance": coin_balance(user_id=user.pk) if user.is_authenticated else None,
        "error": error,
    }
    return render(request, "creators/post_detail.html", context, status=status)


@require_GET
def post_detail(request: HttpRequest, pk: int) -> HttpResponse:
    post = selectors.visible_post(post_id=pk, viewer=request.user)
    if post is None:
        raise Http404(creator_errors.NO_SUCH_POST)
    return _post_page(request, post)


@login_required
@require_POST
def post_unlock(request: HttpRequest, pk: int) -> HttpResponse:
    # A post the viewer can no longer see still answers a replay of an unlock made before it was
    # hidden (the service looks the key up first); anything else about it is a 404.
    post = selectors.visible_post(post_id=pk, viewer=request.user)
    form = UnlockForm(request.POST)
    if not form.is_valid():
        if post is None:
            raise Http404(creator_errors.NO_SUCH_POST)
        return _post_page(request, post, error=creator_errors.FORM_EXPIRED, status=400)
    try:
        result = services.unlock_post(
            user=_viewer(request), post_id=pk, idempotency_key=form.cleaned_data["idempotency_key"]
        )
    except CoinSiteError as exc:
        if post is None:
            raise Http404(creator_errors.NO_SUCH_POST) from exc
        return _post_page(request, post, error=exc.message, status=exc.status)
    messages.success(request, result.message)
    return redirect("creators:post", pk=pk)


@require_GET
def post_file(request: HttpRequest, pk: int) -> HttpResponseBase:
    """The premium file, only to who may see it: anonymous visitors of a priced post are sent to
    log in; a logged-in viewer without an unlock gets 403; a hidden or missing post is 404."""
    post = selectors.visible_post(post_id=pk, viewer=request.user)
    if post is None or not post.premium_file:
        raise Http404(creator_errors.NO_SUCH_FILE)
    if not selectors.can_see_premium(viewer=request.user, post=post):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        return HttpResponse(creator_errors.UNLOCK_FOR_FILE, status=403, content_type="text/plain")
    return _private_file(post.premium_file, post.premium_file_name)


# ---------------------------------------------------------------- merch and orders


def _merch_page(
    request: HttpRequest, item: MerchItem, form: OrderForm | None = None, *, status: int = 200
) -> HttpResponse:
    if form is None:
        form = OrderForm(
            initial={
                "quantity": 1,
                "expected_price": item.price_coins,
                "idempotency_key": new_idempotency_key(),
            }
        )
    user = request.user
    context = {
        "item": item,
        "creator": item.creator,
        "form": form,
        "is_owner": user.is_authenticated and item.creator.user_id == user.pk,
        "balance": coin_balance(user_id=user.pk) if user.is_authenticated else None,
    }
    return render(request, "creators/merch_detail.html", context, status=status)


@require_GET
def merch_detail(request: HttpRequest, pk: int) -> HttpResponse:
    item = selectors.visible_merch(item_id=pk, viewer=request.user)
    if item is None:
        raise Http404(creator_errors.NO_SUCH_ITEM)
    return _merch_page(request, item)


@login_required
@require_POST
def merch_order(request: HttpRequest, pk: int) -> HttpResponse:
    item = selectors.visible_merch(item_id=pk, viewer=request.user)
    if item is None:
        raise Http404(creator_errors.NO_SUCH_ITEM)
    form = OrderForm(request.POST)
    if not form.is_valid():
        return _merch_page(request, item, form, status=400)
    data = form.cleaned_data
    try:
        result = services.place_order(
            buyer=_viewer(request),
            item_id=item.pk,
            quantity=data["quantity"],
            shipping=services.ShippingAddress(
                name=data["ship_name"],
                line1=data["ship_line1"],
                line2=data["ship_line2"],
                city=data["ship_city"],
                region=data["ship_region"],
                postcode=data["ship_postcode"],
                country=data["ship_country"],
            ),
            idempotency_key=data["idempotency_key"],
            expected_unit_price=data.get("expected_price"),
        )
    except CoinSiteError as exc:
        form.add_error(None, exc.message)
        item.refresh_from_db()
        return _merch_page(request, item, form, status=exc.status)
    messages.success(request, result.message)
    return redirect(reverse("creators:library") + f"#order-{result.order.pk}")


@require_GET
def merch_image(request: HttpRequest, pk: int) -> HttpResponseBase:
    item = selectors.visible_merch(item_id=pk, viewer=request.user)
    if item is None or not item.image:
        raise Http404(creator_errors.NO_SUCH_IMAGE)
    return _private_file(item.image, (item.image.name or "image").rsplit("/", 1)[-1])


@login_required
@require_GET
def library(request: HttpRequest) -> HttpResponse:
    return _library_page(request)


def _library_page(request: HttpRequest, *, error: str = "", status: int = 200) -> HttpResponse:
    context = {
        "unlocks": selectors.unlocked_posts(user=_viewer(request))[:200],
        "orders": selectors.orders_of(user=_viewer(request))[:200],
        "error": error,
    }
    return render(request, "creators/library.html", context, status=status)


@login_required
@require_POST
def order_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        result = services.cancel_order(
            order_id=pk, by=_viewer(request), reason=request.POST.get("reason", "")
        )
    except CoinSiteError as exc:
        if exc.status == 404:
            raise Http404(exc.message) from exc
        return _library_page(request, error=exc.message, status=exc.status)
    messages.success(request, result.message)
    return redirect(reverse("creators:library") + f"#order-{pk}")


# ---------------------------------------------------------------- studio


@login_required
@require_GET
def studio(request: HttpRequest) -> HttpResponse:
    creator = _studio_creator(request)
    if creator is None:
        return redirect("creators:apply")
    try:
        days = int(request.GET.get("days", "30"))
    except ValueError:
        days = 30
    dashboard = selectors.creator_earnings_dashboard(creator=creator, days=days)
    context = {
        "creator": creator,
        "d": dashboard,
        "diamond_value": f"{settings.DIAMOND_VALUE_MILLICENTS / 1000:g}¢",
        "ranges": selectors.CHART_RANGES,
        "posts": creator.posts.all()[:20],
        "placed_orders": selectors.orders_for_creator(creator=creator, status=Order.Status.PLACED).count(),
    }
    return render(request, "creators/studio.html", context)


def _file_chunks(handle: IO[bytes], size: int = 256 * 1024) -> Iterator[bytes]:
    with handle:
        while chunk := handle.read(size):
            yield chunk


async def _file_chunks_async(handle: IO[bytes], size: int = 256 * 1024) -> AsyncIterator[bytes]:
    try:
        while chunk := await sync_to_async(handle.read)(size):
            yield chunk
    finally:
        await sync_to_async(handle.close)()


@login_required
@require_GET
def statement_csv(request: HttpRequest) -> HttpResponseBase:
    creator = _studio_creator(request)
    if creator is None:
        return redirect("creators:apply")
    # Spooled to a temporary file first: the rows are read in one database snapshot, and a
    # million-entry statement is not held in memory.
    out = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)  # closed by the response
    write_statement(creator=creator, out=out)
    out.seek(0)
    content: Any = _file_chunks_async(out) if isinstance(request, ASGIRequest) else _file_chunks(out)
    response = StreamingHttpResponse(content, content_type="text/csv; charset=utf-8")
    day = timezone.now().date().isoformat()
    response["Content-Disposition"] = f'attachment; filename="statement-{creator.handle}-{day}.csv"'
    response["Cache-Control"] = "private, no-store"
    return response


@login_required
@require_http_methods(["GET", "POST"])
def studio_post_new(request: HttpRequest) -> HttpResponse:
    creator = _studio_creator(request)
    if creator is None:
        return redirect("creators:apply")
    form = PostForm(request.POST or None, request.FILES or None)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            data = form.cleaned_data
            try:
                post = services.publish_post(
                    creator=creator,
                    title=data["title"],
                    teaser=data["teaser"],
                    premium_body=data["premium_body"],
                    price_coins=data["price_coins"],
                    premium_file=data.get("premium_file"),
                )
            except CoinSiteError as exc:
                form.add_error(None, exc.message)
                status = exc.status
            else:
                messages.success(request, creator_errors.POST_PUBLISHED)
                return redirect("creators:post", pk=post.pk)
    return render(
        request, "creators/studio_post_form.html", {"form": form, "creator": creator}, status=status
    )


@login_required
@require_GET
def studio_merch(request: HttpRequest) -> HttpResponse:
    creator = _studio_creator(request)
    if creator is None:
        return redirect("creators:apply")
    return render(request, "creators/studio_merch.html", {"creator": creator, "items": creator.merch.all()})


@login_required
@require_http_methods(["GET", "POST"])
def studio_merch_new(request: HttpRequest) -> HttpResponse:
    creator = _studio_creator(request)
    if creator is None:
        return redirect("creators:apply")
    form = MerchItemForm(request.POST or None, request.FILES or None)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                item = services.create_merch_item(creator=creator, **form.cleaned_data)
            except CoinSiteError as exc:
                form.add_error(None, exc.message)
                status = exc.status
            else:
                messages.success(request, f"“{item.name}” is on sale.")
                return redirect("creators:studio-merch")
    return render(
        request, "creators/studio_merch_form.html", {"form": form, "creator": creator}, status=status
    )


@login_required
@require_http_methods(["GET", "POST"])
def studio_merch_edit(request: HttpRequest, pk: int) -> HttpResponse:
    creator = _studio_creator(request)
    if creator is None:
        return redirect("creators:apply")
    item = MerchItem.objects.filter(pk=pk, creator=creator).first()
    if item is None:
        raise Http404(creator_errors.NO_SUCH_ITEM)
    initial = {
        "name": item.name,
        "description": item.description,
        "price_coins": item.price_coins,
        "hidden": item.hidden,
        "add_stock": 0,
    }
    form = MerchEditForm(request.POST or None, request.FILES or None, initial=initial)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            data = form.cleaned_data
            try:
                services.update_merch_item(
                    item=item,
                    name=data["name"],
                    description=data["description"],
                    price_coins=data["price_coins"],
                    hidden=data["hidden"],
                    add_stock=data["add_stock"],
                    image=data.get("image"),
                )
            except CoinSiteError as exc:
                form.add_error(None, exc.message)
                status = exc.status
            else:
                messages.success(request, f"“{item.name}” was updated.")
                return redirect("creators:studio-merch")
    return render(
        request,
        "creators/studio_merch_form.html",
        {"form": form, "creator": creator, "item": item},
        status=status,
    )


@login_required
@require_GET
def studio_orders(request: HttpRequest) -> HttpResponse:
    creator = _studio_creator(request)
    if creator is None:
        return redirect("creators:apply")
    return _studio_orders_page(request, creator)


def _studio_orders_page(
    request: HttpRequest, creator: Creator, *, error: str = "", status: int = 200
) -> HttpResponse:
    wanted = request.GET.get("status", "")
    if wanted not in Order.Status.values:
        wanted = ""
    orders = selectors.orders_for_creator(creator=creator, status=wanted or None)[:200]
    context = {
        "creator": creator,
        "orders": orders,
        "status": wanted,
        "statuses": Order.Status.choices,
        "error": error,
    }
    return render(request, "creators/studio_orders.html", context, status=status)


@login_required
@require_POST
def studio_order_ship(request: HttpRequest, pk: int) -> HttpResponse:
    creator = _studio_creator(request)
    if creator is None:
        return redirect("creators:apply")
    try:
        result = services.mark_order_shipped(
            order_id=pk, by=_viewer(request), reason=request.POST.get("reason", "")
        )
    except CoinSiteError as exc:
        if exc.status == 404:
            raise Http404(exc.message) from exc
        return _studio_orders_page(request, creator, error=exc.message, status=exc.status)
    messages.success(request, result.message)
    return redirect("creators:studio-orders")
