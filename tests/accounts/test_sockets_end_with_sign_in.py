"""A socket lives no longer than its sign-in: signing a device out, signing out of a
browser or everywhere closes the sockets that sign-in opened (code 4401), and no other."""

from __future__ import annotations

import contextlib

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import Client

from sanjeevani.accounts import services as accounts
from sanjeevani.accounts.models import DeviceToken
from sanjeevani.config.asgi import application
from sanjeevani.live.sign_in import SIGNED_OUT
from sanjeevani.queueing import services as queue
from tests.factories import OnlineOPDFactory, PatientFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.realtime]


def _waiting_patient():
    opd = OnlineOPDFactory()
    patient = PatientFactory()
    queue.join_queue(patient.account, patient, opd)
    return opd, patient.account


def _browser(account) -> Client:
    browser = Client()
    browser.force_login(account)
    return browser


def _socket(path: str, *, token: str | None = None, browser: Client | None = None):
    headers = [(b"origin", b"http://127.0.0.1"), (b"host", b"127.0.0.1")]
    if token:
        headers.append((b"authorization", f"Token {token}".encode()))
    if browser is not None:
        cookie = f"sessionid={browser.cookies['sessionid'].value}"
        headers.append((b"cookie", cookie.encode()))
    return WebsocketCommunicator(application, path, headers=headers)


async def _open(socket: WebsocketCommunicator) -> WebsocketCommunicator:
    connected, _ = await socket.connect()
    assert connected
    return socket


async def _stays_open(socket: WebsocketCommunicator) -> bool:
    """No close within half a second (queue events may arrive meanwhile). Asks with
    ``receive_nothing``: a ``receive_output`` that times out cancels the application."""
    while not await socket.receive_nothing(timeout=0.5):
        if (await socket.receive_output())["type"] == "websocket.close":
            return False
    return True


@contextlib.asynccontextmanager
async def _sockets(*sockets: WebsocketCommunicator):
    """Opened, and ended as a server ends them whatever the test finds: a socket left to
    the test's teardown can hang it on the Redis layer."""
    try:
        for socket in sockets:
            await _open(socket)
        yield sockets
    finally:
        for socket in sockets:
            await socket.disconnect()


async def _closed_with(socket: WebsocketCommunicator) -> int | None:
    """The close code the server sent, skipping any events before it."""
    for _ in range(10):
        message = await socket.receive_output(timeout=3)
        if message["type"] == "websocket.close":
            return message.get("code")
    return None


async def test_revoking_a_device_closes_its_sockets_and_no_others():
    opd, account = await database_sync_to_async(_waiting_patient)()
    phone = await database_sync_to_async(DeviceToken.objects.issue)(account)
    tablet = await database_sync_to_async(DeviceToken.objects.issue)(account)
    path = f"/ws/opd/{opd.pk}/waiting/"
    async with _sockets(_socket(path, token=phone.key), _socket(path, token=tablet.key)) as (
        on_phone,
        on_tablet,
    ):
        await database_sync_to_async(accounts.revoke_device)(account, phone.token, None)
        assert await _closed_with(on_phone) == SIGNED_OUT
        assert await _stays_open(on_tablet)
    again = _socket(path, token=phone.key)
    connected, _ = await again.connect()
    await again.disconnect()  # as a server ends a refused connection
    assert not connected


async def test_signing_out_of_a_browser_closes_that_browsers_sockets_only():
    opd, account = await database_sync_to_async(_waiting_patient)()
    home = await database_sync_to_async(_browser)(account)
    office = await database_sync_to_async(_browser)(account)
    path = f"/ws/opd/{opd.pk}/waiting/"
    async with _sockets(_socket(path, browser=home), _socket(path, browser=office)) as (
        at_home,
        at_office,
    ):
        answer = await database_sync_to_async(home.post)("/accounts/logout/")
        assert answer.status_code == 302
        assert await _closed_with(at_home) == SIGNED_OUT
        assert await _stays_open(at_office)


async def test_signing_out_everywhere_closes_every_socket():
    opd, account = await database_sync_to_async(_waiting_patient)()
    browser = await database_sync_to_async(_browser)(account)
    phone = await database_sync_to_async(DeviceToken.objects.issue)(account)
    path = f"/ws/opd/{opd.pk}/waiting/"
    async with _sockets(_socket(path, browser=browser), _socket(path, token=phone.key)) as (
        in_browser,
        on_phone,
    ):
        await database_sync_to_async(accounts.sign_out_everywhere)(account, account, None)
        assert await _closed_with(in_browser) == SIGNED_OUT
        assert await _closed_with(on_phone) == SIGNED_OUT
