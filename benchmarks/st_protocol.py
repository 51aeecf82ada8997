"""A minimal Streamlit client speaking the app's own websocket protocol.

What the browser does (streamlit/static/static/js/index.*.js, Streamlit 1.67):
  * opens ws://HOST/_stcore/stream with the subprotocols
    ["streamlit", <xsrf cookie or "PLACEHOLDER_AUTH_TOKEN">, <last session id, on reconnect only>]
    (the server selects the first entry: web/server/starlette/starlette_websocket.py);
  * sends one BackMsg{rerun_script: ClientState{query_string, page_script_hash: "",
    page_name: <path relative to the base URL, "" for the root>, context_info{timezone, locale, url, ...}}};
  * the server answers with ForwardMsgs: new_session, session_status_changed, navigation,
    page_config_changed, deltas (one per element), page_info_changed, and finally
    script_finished. FINISHED_EARLY_FOR_RERUN (st.rerun) is followed by another run;
    FINISHED_SUCCESSFULLY or FINISHED_WITH_COMPILE_ERROR ends the page load.
An exception in the script arrives as a delta whose new_element is `exception`.
"""
from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

import websockets
from websockets.typing import Subprotocol
from streamlit.proto.Alert_pb2 import Alert
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

FINISHED_OK = ForwardMsg.FINISHED_SUCCESSFULLY
FINISHED_COMPILE_ERROR = ForwardMsg.FINISHED_WITH_COMPILE_ERROR
FINISHED_RERUN = ForwardMsg.FINISHED_EARLY_FOR_RERUN


@dataclass
class Target:
    """A page and its query string, written 'evidence?studies=sun2022' ('' or '?...' = the default page)."""
    page: str
    query: str = ""

    @classmethod
    def parse(cls, text: str) -> "Target":
        page, _, query = text.strip().partition("?")
        return cls(page.strip("/"), query)

    @property
    def label(self) -> str:
        name = self.page or "(default)"
        return f"{name}?{self.query}" if self.query else name

    def path(self) -> str:
        return "/" + self.page + (f"?{self.query}" if self.query else "")


@dataclass
class PageLoad:
    target: str
    ok: bool = False
    error: str | None = None
    connect_s: float | None = None       # websocket handshake
    run_s: float | None = None           # rerun_script sent -> final script_finished
    first_delta_s: float | None = None   # rerun_script sent -> first element delta
    chart_s: float | None = None         # rerun_script sent -> first plotly_chart delta
    messages: int = 0
    bytes: int = 0
    reruns: int = 0                      # FINISHED_EARLY_FOR_RERUN seen (st.rerun)
    exceptions: list[str] = field(default_factory=list)
    error_alerts: int = 0                # st.error banners (not counted as failures)
    page_not_found: bool = False
    element_types: dict[str, int] = field(default_factory=dict)
    navigation: list[dict] = field(default_factory=list)
    plotly_specs: list[str] = field(default_factory=list)
    server_cpu_s: float | None = None    # filled in by callers that can read the server's /proc


def rerun_message(port: int, target: Target) -> bytes:
    msg = BackMsg()
    rs = msg.rerun_script
    rs.query_string = target.query
    rs.page_script_hash = ""
    rs.page_name = target.page
    ci = rs.context_info
    ci.timezone = "Europe/Berlin"
    ci.timezone_offset = -60
    ci.locale = "en-US"
    ci.url = f"http://127.0.0.1:{port}{target.path()}"
    ci.is_embedded = False
    ci.color_scheme = "light"
    return msg.SerializeToString()


async def get_page_html(port: int, path: str, cookie: str | None = None) -> tuple[int, str | None]:
    """GET the page's HTML as a browser does before it opens the websocket; returns the
    HTTP status and the `name=value` of the first Set-Cookie (a proxy's affinity cookie)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        extra = f"Cookie: {cookie}\r\n" if cookie else ""
        writer.write(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n{extra}Connection: close\r\n\r\n".encode())
        await writer.drain()
        head, _, _ = (await reader.read()).partition(b"\r\n\r\n")
    finally:
        writer.close()
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1]) if lines and len(lines[0].split()) > 1 else 0
    set_cookie = next((ln.split(":", 1)[1].strip().split(";", 1)[0] for ln in lines[1:]
                       if ln.lower().startswith("set-cookie:")), None)
    return status, set_cookie


async def open_session(port: int, timeout: float, cookie: str | None = None):
    return await websockets.connect(
        f"ws://127.0.0.1:{port}/_stcore/stream",
        subprotocols=[Subprotocol("streamlit"), Subprotocol("PLACEHOLDER_AUTH_TOKEN")],
        origin=websockets.typing.Origin(f"http://127.0.0.1:{port}"),
        # no client keepalive pings: browsers send none (the websocket API cannot), and the
        # library's 20 s ping timeout would drop sessions whose server is busy running scripts
        max_size=None, open_timeout=timeout, close_timeout=5, ping_interval=None,
        additional_headers={"Cookie": cookie} if cookie else None)


async def load_page(ws, port: int, target: Target, result: PageLoad, keep_specs: bool = False) -> PageLoad:
    """Send the initial rerun_script and read ForwardMsgs until the script has finished."""
    t0 = time.perf_counter()
    await ws.send(rerun_message(port, target))
    while True:
        data = await ws.recv()
        result.messages += 1
        result.bytes += len(data)
        fm = ForwardMsg()
        fm.ParseFromString(data)
        kind = fm.WhichOneof("type")
        if kind == "delta":
            d = fm.delta
            if d.WhichOneof("type") == "new_element":
                el = d.new_element.WhichOneof("type")
                result.element_types[el] = result.element_types.get(el, 0) + 1
                if result.first_delta_s is None:
                    result.first_delta_s = time.perf_counter() - t0
                if el == "exception":
                    ex = d.new_element.exception
                    result.exceptions.append(f"{ex.type}: {ex.message}"[:300])
                elif el == "alert" and d.new_element.alert.format == Alert.ERROR:
                    result.error_alerts += 1
                elif el == "plotly_chart":
                    if result.chart_s is None:
                        result.chart_s = time.perf_counter() - t0
                    if keep_specs:
                        result.plotly_specs.append(d.new_element.plotly_chart.spec)
        elif kind == "navigation":
            result.navigation = [{"url_pathname": p.url_pathname, "page_name": p.page_name,
                                  "is_default": p.is_default, "page_script_hash": p.page_script_hash}
                                 for p in fm.navigation.app_pages]
        elif kind == "page_not_found":
            result.page_not_found = True
        elif kind == "script_finished":
            status = fm.script_finished
            if status == FINISHED_RERUN:
                result.reruns += 1
                continue
            if status in (FINISHED_OK, FINISHED_COMPILE_ERROR):
                result.run_s = time.perf_counter() - t0
                if status == FINISHED_COMPILE_ERROR:
                    result.error = "script finished with a compile error"
                break
    problems = []
    if result.exceptions:
        problems.append(f"{len(result.exceptions)} exception element(s): {result.exceptions[0]}")
    if result.page_not_found:
        problems.append("page_not_found")
    if problems and not result.error:
        result.error = "; ".join(problems)
    result.ok = result.error is None
    return result


async def one_page_load(port: int, target: Target, timeout: float = 120, keep_specs: bool = False) -> PageLoad:
    """Connect, load a page, disconnect: one visitor."""
    res = PageLoad(target.label)
    try:
        async with asyncio.timeout(timeout):
            t0 = time.perf_counter()
            ws = await open_session(port, timeout)
            res.connect_s = time.perf_counter() - t0
            try:
                await load_page(ws, port, target, res, keep_specs)
            finally:
                await ws.close()
    except TimeoutError:
        res.error = f"timeout after {timeout} s"
    except Exception as exc:  # a refused or dropped connection is a measured error, not a crash
        res.error = f"{type(exc).__name__}: {exc}"[:300]
    res.ok = res.error is None
    return res
