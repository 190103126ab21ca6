"""The shipped deployment, run small: Debian's nginx with deploy/nginx/sanjeevani.conf in
front of app nodes started with deploy/systemd/sanjeevani@.service's options, on the test
database and Redis (issue 15, item 2).

Only what cannot run in a test is changed, each change checked to have applied: the TLS
listener becomes a plain one on a free port, the node list names the test's nodes, and
logs and the static root go to the test's folder. nginx runs in the foreground as a child
process with its own prefix, pid and temp paths.
"""

from __future__ import annotations

import contextlib
import os
import re
import shlex
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests.e2e.live import REPO, free_port, server_env
from tests.polling import wait_until

NGINX = "/usr/sbin/nginx"
SITE = REPO / "deploy" / "nginx" / "sanjeevani.conf"
UNIT = REPO / "deploy" / "systemd" / "sanjeevani@.service"


def _replace(text: str, pattern: str, replacement: str, count: int) -> str:
    """re.subn that insists on matching exactly ``count`` times: if the shipped file
    changes shape, the test says so instead of testing something else."""
    changed, found = re.subn(pattern, replacement, text, flags=re.MULTILINE)
    if found != count:
        raise AssertionError(f"{SITE.name}: expected {count} match(es) of {pattern!r}, got {found}")
    return changed


def site_config(listen: str, node_ports: list[int], folder: Path) -> str:
    """deploy/nginx/sanjeevani.conf for this machine: plain HTTP, these nodes, these paths."""
    text = SITE.read_text()
    # The port-80 server only redirects to HTTPS: not used here.
    text = _replace(text, r"^server \{\n    listen 80;\n(?:.*\n)*?\}\n", "", 1)
    text = _replace(text, r"^    listen 443 ssl http2;$", f"    listen {listen};", 1)
    text = _replace(text, r"^    listen \[::\]:443 ssl http2;\n", "", 1)
    text = _replace(text, r"^    ssl_[a-z_]+ .*;\n", "", 6)
    nodes = "".join(
        f"    server 127.0.0.1:{port} max_fails=1 fail_timeout=10s;\n" for port in node_ports
    )
    text = _replace(text, r"^    server 127\.0\.0\.1:800\d .*;\n", "", 3)
    text = _replace(text, r"^(    least_conn;\n)", r"\g<1>" + nodes.replace("\\", "\\\\"), 1)
    text = _replace(text, r"/var/log/nginx/", f"{folder}/", 2)
    text = _replace(text, r"/var/lib/sanjeevani/static/", f"{folder}/static/", 1)
    return text


def main_config(folder: Path, site: Path) -> str:
    """A minimal nginx.conf around the site, like Debian's /etc/nginx/nginx.conf with the
    connection limits of docs/deployment.md (each WebSocket holds two connections)."""
    temp = "\n".join(
        f"    {name}_temp_path {folder}/{name}-temp;"
        for name in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    return f"""
pid {folder}/nginx.pid;
error_log {folder}/nginx-error.log info;
worker_rlimit_nofile 65536;
events {{ worker_connections 16384; }}
http {{
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    access_log off;
{temp}
    include {site};
}}
"""


def node_command(port: int) -> list[str]:
    """The unit's ExecStart, with this interpreter's uvicorn and the port for %i."""
    lines = UNIT.read_text().replace("\\\n", " ").splitlines()
    (exec_start,) = [line for line in lines if line.startswith("ExecStart=")]
    binary, *args = shlex.split(exec_start.removeprefix("ExecStart="))
    assert binary.endswith("/uvicorn"), exec_start
    return [sys.executable, "-m", "uvicorn", *(a.replace("%i", str(port)) for a in args)]


@dataclass
class Node:
    port: int
    log: Path
    process: subprocess.Popen

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def accepted_websockets(self, path: str) -> int:
        """How many WebSocket handshakes on ``path`` this node accepted (uvicorn's log)."""
        text = self.log.read_text(errors="replace")
        return sum(1 for line in text.splitlines() if path in line and "[accepted]" in line)


@dataclass
class Deployment:
    folder: Path
    base: str
    nodes: list[Node]
    nginx: subprocess.Popen
    access_log: Path
    killed: list[Node] = field(default_factory=list)

    def upstreams(self) -> set[str]:
        """The nodes nginx sent requests to (its access log's ``upstream=`` field)."""
        seen: set[str] = set()
        text = self.access_log.read_text() if self.access_log.exists() else ""
        for match in re.finditer(r"upstream=(.*?) upstream_status=", text):
            seen.update(re.findall(r"\d+\.\d+\.\d+\.\d+:\d+", match[1]))
        return seen

    def kill(self, node: Node) -> None:
        """SIGKILL: no goodbye to its sockets, its Redis subscriptions or its requests."""
        node.process.send_signal(signal.SIGKILL)
        node.process.wait(10)
        self.killed.append(node)

    def logs(self) -> str:
        parts = []
        for path in [self.folder / "nginx-error.log", self.access_log] + [
            n.log for n in self.nodes
        ]:
            text = path.read_text(errors="replace") if path.exists() else "(none)"
            parts.append(f"----- {path.name} -----\n{text[-6000:]}")
        return "\n".join(parts)


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code < 500
    except httpx.HTTPError:
        return False


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextlib.contextmanager
def proxied_nodes(
    folder: Path, count: int = 2, host: str = "127.0.0.1", **env: str
) -> Iterator[Deployment]:
    """nginx on a free port of ``host`` in front of ``count`` app nodes (on 127.0.0.1);
    every log is printed if the block fails."""
    (folder / "static").mkdir(parents=True, exist_ok=True)
    node_env = server_env(
        TRUSTED_PROXIES="127.0.0.1,::1",
        ALLOWED_HOSTS=f"127.0.0.1,localhost,{host}",
        LOG_LEVEL="WARNING",
        PYTHONUNBUFFERED="1",
        **env,
    )
    node_env["PYTHONPATH"] = os.pathsep.join(
        filter(None, [str(REPO / "src"), node_env.get("PYTHONPATH")])
    )
    processes: list[subprocess.Popen] = []
    deployment = None
    try:
        nodes = []
        for _ in range(count):
            port = free_port()
            log = folder / f"node-{port}.log"
            with log.open("wb") as out:
                process = subprocess.Popen(
                    node_command(port), cwd=REPO, env=node_env, stdout=out, stderr=subprocess.STDOUT
                )
            processes.append(process)
            nodes.append(Node(port, log, process))
        listen = f"{host}:{free_port()}"
        site = folder / "sanjeevani.conf"
        site.write_text(site_config(listen, [n.port for n in nodes], folder))
        main = folder / "nginx.conf"
        main.write_text(main_config(folder, site))
        with (folder / "nginx-stderr.log").open("wb") as out:
            nginx = subprocess.Popen(
                [
                    NGINX,
                    "-p",
                    str(folder),
                    "-c",
                    str(main),
                    "-g",
                    "daemon off; master_process off;",
                ],
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        processes.append(nginx)
        deployment = Deployment(
            folder, f"http://{listen}", nodes, nginx, folder / "sanjeevani.access.log"
        )
        for node in nodes:
            up = wait_until(
                lambda node=node: (
                    node.process.poll() is not None or _answers(f"http://{node.address}/")
                ),
                timeout=60,
                interval=0.2,
            )
            assert up and node.process.poll() is None, f"node {node.port} did not start"
        assert (
            wait_until(
                lambda: nginx.poll() is not None or _answers(deployment.base + "/"), timeout=30
            )
            and nginx.poll() is None
        ), "nginx did not start: " + (folder / "nginx-stderr.log").read_text()
        yield deployment
    except BaseException:
        if deployment is not None:
            print(deployment.logs())
        else:
            for path in sorted(folder.glob("*.log")):
                print(f"----- {path.name} -----\n{path.read_text(errors='replace')[-6000:]}")
        raise
    finally:
        for process in processes:
            _stop(process)
