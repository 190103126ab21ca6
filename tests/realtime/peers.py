"""Two aiortc peers meeting in a real room through the server's WebSocket.

Each peer asks the HTTP API for a join token (DRF token auth), opens the room's WebSocket
with the ``websockets`` client, and signals through the server only; media and the data
channel then go peer to peer (or through TURN when ``relay_only``)."""

from __future__ import annotations

import asyncio
import contextlib
import json
from dataclasses import dataclass, field

import httpx
import websockets
from aiortc import (
    RTCConfiguration,
    RTCIceServer,
    RTCIceTransportPolicy,
    RTCPeerConnection,
    RTCSessionDescription,
    VideoStreamTrack,
)


@dataclass
class RoomPeer:
    base_url: str
    consultation_id: str
    api_token: str
    ice_override: list[dict] | None = None
    welcome: dict = field(default_factory=dict)
    ws: object = None
    inbox: asyncio.Queue = field(default_factory=asyncio.Queue)

    async def join(self) -> dict:
        async with httpx.AsyncClient(base_url=self.base_url) as http:
            response = await http.get(
                f"/api/v1/realtime/rooms/{self.consultation_id}/join-token",
                headers={"Authorization": f"Token {self.api_token}"},
            )
        response.raise_for_status()
        join = response.json()
        ws_url = self.base_url.replace("http", "ws", 1) + join["websocket_path"]
        self.ws = await websockets.connect(f"{ws_url}?token={join['token']}", origin=self.base_url)
        self.welcome = json.loads(await self.ws.recv())
        assert self.welcome["type"] == "welcome", self.welcome
        self._reader = asyncio.create_task(self._read())
        return self.welcome

    async def _read(self) -> None:
        with contextlib.suppress(websockets.ConnectionClosed):
            async for raw in self.ws:
                await self.inbox.put(json.loads(raw))

    async def wait_for(self, kind: str, timeout: float = 15) -> dict:
        async def next_of_kind():
            while True:
                message = await self.inbox.get()
                if message["type"] == kind:
                    return message

        return await asyncio.wait_for(next_of_kind(), timeout)

    async def send(self, message: dict) -> None:
        await self.ws.send(json.dumps(message))

    def configuration(self, relay_only: bool) -> RTCConfiguration:
        servers = (
            self.ice_override if self.ice_override is not None else self.welcome["ice_servers"]
        )
        return RTCConfiguration(
            iceServers=[
                RTCIceServer(
                    urls=s["urls"], username=s.get("username"), credential=s.get("credential")
                )
                for s in servers
            ],
            iceTransportPolicy=(
                RTCIceTransportPolicy.RELAY if relay_only else RTCIceTransportPolicy.ALL
            ),
        )

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()


async def _connected(pc: RTCPeerConnection, timeout: float) -> bool:
    async def poll():
        while pc.connectionState not in ("connected", "failed", "closed"):
            await asyncio.sleep(0.05)
        return pc.connectionState == "connected"

    try:
        return await asyncio.wait_for(poll(), timeout)
    except TimeoutError:
        return False


async def call(
    doctor: RoomPeer, patient: RoomPeer, *, relay_only: bool = False, timeout: float = 20
) -> dict:
    """The patient offers video and a data channel to the doctor, through the room. Returns
    what happened: connection states, the frame received, the data-channel reply, the
    candidate types in use."""
    result: dict = {}
    await doctor.join()
    await patient.join()
    doctor_peer = (await patient.wait_for("peer-present"))["peer_id"]
    await doctor.wait_for("peer-joined")

    patient_pc = RTCPeerConnection(patient.configuration(relay_only))
    doctor_pc = RTCPeerConnection(doctor.configuration(relay_only))
    try:
        patient_pc.addTrack(VideoStreamTrack())
        channel = patient_pc.createDataChannel("chat")
        reply: asyncio.Future = asyncio.get_running_loop().create_future()
        channel.on("message", lambda m: reply.done() or reply.set_result(m))
        channel.on("open", lambda: channel.send("hello doctor"))
        try:
            await patient_pc.setLocalDescription(await patient_pc.createOffer())
        except Exception as error:  # TURN refused: no candidates can be gathered
            result["error"] = repr(error)
            return result
        await patient.send(
            {"type": "offer", "to": doctor_peer, "sdp": patient_pc.localDescription.sdp}
        )

        offer = await doctor.wait_for("offer")
        tracks: asyncio.Queue = asyncio.Queue()
        doctor_pc.on("track", lambda track: tracks.put_nowait(track))

        @doctor_pc.on("datachannel")
        def on_channel(ch):
            ch.on("message", lambda m: ch.send(f"got: {m}"))

        doctor_pc.addTrack(VideoStreamTrack())
        await doctor_pc.setRemoteDescription(RTCSessionDescription(offer["sdp"], "offer"))
        try:
            await doctor_pc.setLocalDescription(await doctor_pc.createAnswer())
        except Exception as error:
            result["error"] = repr(error)
            return result
        await doctor.send(
            {"type": "answer", "to": offer["from"], "sdp": doctor_pc.localDescription.sdp}
        )
        answer = await patient.wait_for("answer")
        await patient_pc.setRemoteDescription(RTCSessionDescription(answer["sdp"], "answer"))

        result["patient_connected"] = await _connected(patient_pc, timeout)
        result["doctor_connected"] = await _connected(doctor_pc, timeout)
        result["states"] = (patient_pc.connectionState, doctor_pc.connectionState)
        if not (result["patient_connected"] and result["doctor_connected"]):
            return result
        track = await asyncio.wait_for(tracks.get(), 10)
        frame = await asyncio.wait_for(track.recv(), 10)
        result["frame"] = (track.kind, frame.width, frame.height)
        result["reply"] = await asyncio.wait_for(reply, 10)
        pair = patient_pc.getTransceivers()[0].sender.transport.transport.iceGatherer
        result["local_candidate_types"] = sorted({c.type for c in pair.getLocalCandidates()})
        return result
    finally:
        await patient_pc.close()
        await doctor_pc.close()
        await doctor.close()
        await patient.close()


async def _count_frames(track, counts: dict, key: str) -> None:
    """Frames this side actually decoded from the other's track (what a browser's
    ``framesDecoded`` counts)."""
    with contextlib.suppress(Exception):
        while True:
            await track.recv()
            counts[key] += 1


async def _audio_packets(pc: RTCPeerConnection) -> int:
    """Audio RTP packets received, from aiortc's own inbound-rtp statistics."""
    report = await pc.getStats()
    return sum(
        s.packetsReceived
        for s in report.values()
        if s.type == "inbound-rtp" and getattr(s, "kind", "") == "audio"
    )


async def media_call(
    doctor: RoomPeer,
    patient: RoomPeer,
    *,
    kinds: tuple[str, ...] = ("audio", "video"),
    until_mode: str = "video",
    patient_claims: dict | None = None,
    timeout: float = 40,
) -> dict:
    """Doctor and patient send each other the media ``kinds`` peer to peer, count what they
    really receive, and each reports it to the room every second as ``media-stats`` (as
    room.js does), until the room announces ``until_mode`` or ``timeout`` passes.
    ``patient_claims`` replaces the patient's report with a lie. Returns what each side
    received and the last ``consultation-mode`` the room announced."""
    from aiortc import AudioStreamTrack

    await doctor.join()
    await patient.join()
    doctor_peer = (await patient.wait_for("peer-present"))["peer_id"]
    await doctor.wait_for("peer-joined")
    doctor_id, patient_id = doctor.welcome["user_id"], patient.welcome["user_id"]

    pcs = {"doctor": RTCPeerConnection(doctor.configuration(False)),
           "patient": RTCPeerConnection(patient.configuration(False))}  # fmt: skip
    counts = {side: {"video_frames": 0} for side in pcs}
    readers: list[asyncio.Task] = []
    result: dict = {"modes": []}

    def on_track(side):
        def handler(track):
            if track.kind == "video":
                readers.append(
                    asyncio.create_task(_count_frames(track, counts[side], "video_frames"))
                )
            else:  # decode the audio too, so that it flows as in a browser
                readers.append(asyncio.create_task(_count_frames(track, {"n": 0}, "n")))

        return handler

    for side, pc in pcs.items():
        pc.on("track", on_track(side))
        for kind in kinds:
            pc.addTrack(VideoStreamTrack() if kind == "video" else AudioStreamTrack())
    if not kinds:
        pcs["patient"].createDataChannel("chat")
    try:
        patient_pc, doctor_pc = pcs["patient"], pcs["doctor"]
        await patient_pc.setLocalDescription(await patient_pc.createOffer())
        await patient.send(
            {"type": "offer", "to": doctor_peer, "sdp": patient_pc.localDescription.sdp}
        )
        offer = await doctor.wait_for("offer")
        await doctor_pc.setRemoteDescription(RTCSessionDescription(offer["sdp"], "offer"))
        await doctor_pc.setLocalDescription(await doctor_pc.createAnswer())
        await doctor.send(
            {"type": "answer", "to": offer["from"], "sdp": doctor_pc.localDescription.sdp}
        )
        answer = await patient.wait_for("answer")
        await patient_pc.setRemoteDescription(RTCSessionDescription(answer["sdp"], "answer"))
        result["connected"] = await _connected(patient_pc, 20) and await _connected(doctor_pc, 20)

        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while loop.time() < deadline:
            for side, peer, other in (
                ("doctor", doctor, patient_id),
                ("patient", patient, doctor_id),
            ):
                got = {
                    "video_frames": counts[side]["video_frames"],
                    "video_bytes": 0,  # aiortc does not count bytes; browsers do
                    "audio_packets": await _audio_packets(pcs[side]),
                    "audio_bytes": 0,
                }
                if side == "patient" and patient_claims is not None:
                    got = patient_claims
                await peer.send({"type": "media-stats", "user_id": other, **got})
                result[side] = got
            with contextlib.suppress(TimeoutError):
                while True:
                    mode = await patient.wait_for("consultation-mode", timeout=1)
                    result["modes"].append(mode)
                    if mode["observed_mode"] == until_mode:
                        return result
        return result
    finally:
        for task in readers:
            task.cancel()
        for pc in pcs.values():
            await pc.close()
        await doctor.close()
        await patient.close()
