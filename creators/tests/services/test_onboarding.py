"""The handle rules live in one service (`creators.services.onboarding.check_handle`): an
application through any door, and staff editing a creator, keep to them."""

from __future__ import annotations

import html

import pytest
from django.test import Client

from creators import errors as creator_errors
from creators.models import Creator
from creators.services import apply_for_creator
from wallet import errors

pytestmark = pytest.mark.django_db


def _apply(user, handle: str) -> Creator:
    return apply_for_creator(user=user, display_name="Chef Ana", handle=handle, bio="", category="Food")


@pytest.mark.parametrize("handle", ["admin", "API", " studio ", "Live"])
def test_the_service_refuses_a_reserved_handle(make_user, handle):
    with pytest.raises(errors.InvalidRequest) as refused:
        _apply(make_user(), handle)

    assert (refused.value.code, refused.value.message) == ("handle_reserved", creator_errors.HANDLE_RESERVED)
    assert not Creator.objects.exists()


@pytest.mark.parametrize("handle", ["", "ab", "no spaces", "x" * 41, "émile", "dots.here"])
def test_the_service_refuses_a_handle_that_is_not_3_to_40_letters_digits_dashes_or_underscores(
    make_user, handle
):
    with pytest.raises(errors.InvalidRequest) as refused:
        _apply(make_user(), handle)

    assert refused.value.code == "handle_invalid"
    assert not Creator.objects.exists()


def test_the_service_refuses_another_creators_handle_and_stores_handles_in_lower_case(make_user):
    first = _apply(make_user(), "  Chef-Ana ")
    assert first.handle == "chef-ana"

    with pytest.raises(errors.InvalidRequest) as refused:
        _apply(make_user(), "CHEF-ANA")

    assert (refused.value.code, refused.value.message) == ("handle_taken", creator_errors.HANDLE_TAKEN)


def test_staff_editing_a_creator_keep_to_the_same_handle_rules(make_creator, staff):
    creator = make_creator(handle="chef-ana")
    client = Client()
    client.force_login(staff)
    url = f"/admin/creators/creator/{creator.pk}/change/"
    form = client.get(url).context["adminform"].form
    data = {name: form[name].value() for name in form.fields if form[name].value() is not None}

    refused = client.post(url, {**data, "handle": "admin"})
    renamed = client.post(url, {**data, "handle": "Chef-Ana-2"})

    assert refused.status_code == 200
    assert creator_errors.HANDLE_RESERVED in html.unescape(refused.content.decode())
    assert renamed.status_code == 302
    creator.refresh_from_db()
    assert creator.handle == "chef-ana-2"
