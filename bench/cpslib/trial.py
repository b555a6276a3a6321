"""One trial: fresh daemons on free ports, a SIPp UAS and a SIPp UAC placing
``rate x duration`` calls at ``rate`` calls/s; the verdict and what explains it.

The project configs route with the bench's model (cpslib/model.py): it is built,
compiled and applied once per run (``Bench.prepare_project``) into the table file of
the project's var dir, which every project trial's Kamailio then loads at start.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import jinja2

from cpslib import BENCH_DIR, model
from cpslib.processes import (
    LOOPBACK,
    Registry,
    SippProcess,
    Stoppable,
    diagnose_log,
    free_port,
    group_cpu_seconds,
    log_size,
    rtp_range,
    udp_bound,
)
from cpslib.sippstats import parse_stats
from orchestrator.compile.configs import check_kamailio, kamailio_modules_dir, write_configs
from orchestrator.settings import Settings
from orchestrator.stack.processes import ManagedProcess, wait_until
from orchestrator.switch.nodes import kamailio_generation, local_node

UAC_SCENARIO = BENCH_DIR / "uac.xml"
UAS_SCENARIO = BENCH_DIR / "uas.xml"
MAX_FAIL_RATIO = 0.001  # 0.1 % of the calls of a trial may fail
RECV_TIMEOUT_MS = 5000  # a call that waits longer than this for an answer has failed
SIPP_BUFFER = 1 << 20  # socket buffers of both SIPp instances (bytes)

Log = Callable[[str], None]


@dataclass(frozen=True)
class Variant:
    key: str
    config: str  # "minimal" or "project"
    media: bool

    @property
    def label(self) -> str:
        return f"{self.config}, {'with media' if self.media else 'no media'}"

    @property
    def number(self) -> str:
        """What the UAC dials: the project routes need tech prefix + number."""
        if self.config == "minimal":
            return "bench"
        prefix = model.MEDIA_TECH_PREFIX if self.media else model.DIRECT_TECH_PREFIX
        return prefix + model.NUMBER


@dataclass(frozen=True)
class Plan:
    """How hard each trial pushes and how long the search may take."""

    duration_s: float  # calls are offered for this long: calls = rate * duration
    hold_ms: int  # time between ACK and BYE
    max_trials: int  # trials per configuration, retries included
    precision: float  # stop when lowest failing / highest passing rate <= this
    min_rate: int
    max_rate: int
    start_rate: int
    # A failing rate is tried once more (if trials are left) and passes if either try
    # passes: other jobs on a shared machine cause false failures, never false passes.
    retry_failures: bool = True
    budget_s: float = 540.0  # the whole run; each config gets a share of what is left

    @property
    def trial_timeout_s(self) -> float:
        """SIPp's own -timeout: offering + holding + the answer timeout + margin."""
        return self.duration_s + self.hold_ms / 1000 + RECV_TIMEOUT_MS / 1000 + 4


@dataclass
class Trial:
    rate: int
    calls: int
    allowed_failures: int
    successful: int
    failed: int
    retransmissions: int
    creation_s: float | None
    response_ms: float | None
    sustained: bool
    ok: bool
    note: str
    seconds: float
    kamailio_cpu_us_per_call: float | None = None
    rtpengine_cpu_us_per_call: float | None = None

    def describe(self) -> str:
        verdict = "pass" if self.ok else "FAIL"
        creation = "?" if self.creation_s is None else f"{self.creation_s:.1f}s"
        resp = ("?" if self.response_ms is None
                else "<1ms" if self.response_ms < 1 else f"{self.response_ms:.0f}ms")
        cpu = "" if self.kamailio_cpu_us_per_call is None else (
            f"  CPU/call kamailio {self.kamailio_cpu_us_per_call:.0f}us"
            + ("" if self.rtpengine_cpu_us_per_call is None
               else f" rtpengine {self.rtpengine_cpu_us_per_call:.0f}us"))
        text = (f"{self.rate:>5} cps  {verdict}  failed {self.failed}/{self.calls} "
                f"(max {self.allowed_failures})  offered in {creation}  "
                f"INVITE->200 {resp}  retrans {self.retransmissions}{cpu}")
        return text + (f"  [{self.note}]" if self.note else "")


class Bench:
    def __init__(self, workdir: Path, plan: Plan, registry: Registry, log: Log,
                 trace_errors: bool = False, overrides: dict[str, str] | None = None,
                 prefixes: int = 300_000) -> None:
        self.workdir = workdir
        self.trace_errors = trace_errors
        self.plan = plan
        self.registry = registry
        self.log = log
        self.prefixes = prefixes
        # -m/-M for the tariff tree, the same for every config; --setting wins
        self.overrides: dict[str, object] = {**model.memory_settings(prefixes),
                                             **(overrides or {})}
        self.dest_port = free_port()  # the UAS, and every carrier's gateway in the model
        self._checked: set[str] = set()
        self._prepared: int | None = None  # generation the project's table file serves
        self._jinja = jinja2.Environment(
            loader=jinja2.FileSystemLoader(str(BENCH_DIR)),
            undefined=jinja2.StrictUndefined, keep_trailing_newline=True, autoescape=False,
        )
        self.settings_used: Settings | None = None
        self.model_info: dict[str, object] = {}

    # configs ---------------------------------------------------------------------
    def settings_for(self, variant: Variant) -> Settings:
        """Fresh ports; the project configs share one var dir (model, table file)."""
        rtp_min, rtp_max = rtp_range()
        var_dir = self.workdir / ("project" if variant.config == "project" else variant.key)
        return Settings(
            **self.overrides,  # type: ignore[arg-type]  # validated (and coerced) by pydantic
            var_dir=var_dir, sip_ip=LOOPBACK, sip_port=free_port(), rpc_port=free_port(),
            rtpengine_ng_port=free_port(), web_port=free_port(), media_ip=LOOPBACK,
            rtp_port_min=rtp_min, rtp_port_max=rtp_max, secret_key="bench",
        )

    def render(self, variant: Variant, settings: Settings) -> tuple[Path, Path | None]:
        """Kamailio config and rtpengine config (None: no rtpengine for this variant)."""
        check = variant.key not in self._checked
        self._checked.add(variant.key)
        if variant.config == "project":
            # also creates the table file; the project's config always loads the
            # rtpengine module: rtpengine runs (idle for direct media) as in `stack up`
            configs = write_configs(settings, check=check)
            return configs.kamailio_cfg, configs.rtpengine_conf
        settings.ensure_dirs()
        cfg = settings.config_dir / "minimal_relay.cfg"
        cfg.write_text(self._jinja.get_template("minimal_relay.cfg.j2").render(
            s=settings, modules_dir=kamailio_modules_dir(), media=variant.media,
            destination=f"{LOOPBACK}:{self.dest_port}"))
        if check:
            check_kamailio(settings, cfg)
        if not variant.media:
            return cfg, None
        conf = settings.config_dir / "minimal_rtpengine.conf"
        conf.write_text(self._jinja.get_template("minimal_rtpengine.conf.j2").render(s=settings))
        return cfg, conf

    # daemons ---------------------------------------------------------------------
    def _launch(self, started: list[Stoppable], proc: Stoppable,
                start: Callable[[], None]) -> None:
        # registered before it starts: an interrupt at any moment still stops it
        started.append(proc)
        self.registry.add(proc)
        start()

    def _daemons(self, settings: Settings, cfg: Path, conf: Path | None,
                 started: list[Stoppable]) -> tuple[ManagedProcess, ManagedProcess | None]:
        from orchestrator.stack import daemons  # needs orchestrator.kamailio / .rtpengine

        rtpengine: ManagedProcess | None = None
        if conf is not None:
            rtpengine = daemons.rtpengine_process(settings, conf)
            self._launch(started, rtpengine, rtpengine.start)
            wait_until(lambda: daemons.rtpengine_ready(settings), daemons.READY_TIMEOUT,
                       "ng ping answers", rtpengine)
        kamailio = daemons.kamailio_process(settings, cfg)
        self._launch(started, kamailio, kamailio.start)
        wait_until(lambda: daemons.kamailio_ready(settings), daemons.READY_TIMEOUT,
                   "JSON-RPC answers", kamailio)
        return kamailio, rtpengine

    def _stop(self, started: list[Stoppable]) -> None:
        """Stop every process of ``started`` (last first), then raise the first error."""
        error: Exception | None = None
        for proc in reversed(started):
            try:
                self.registry.stop(proc)
            except Exception as exc:
                error = error or exc
        if error is not None:
            raise error

    def _sipp_common(self) -> list[str]:
        common = ["-i", LOOPBACK, "-mi", LOOPBACK, "-t", "u1", "-nostdin",
                  "-buff_size", str(SIPP_BUFFER)]
        if self.trace_errors:
            common += ["-trace_err", "-error_file", "errors.log"]
        return common

    def _uas(self, trial_dir: Path, started: list[Stoppable]) -> SippProcess:
        uas = SippProcess("uas", ["sipp", "-sf", str(UAS_SCENARIO), "-p", str(self.dest_port),
                                  "-mp", str(free_port(4)), *self._sipp_common()], trial_dir)
        self._launch(started, uas, uas.start)
        _await_udp(uas, self.dest_port)
        return uas

    def _uac(self, settings: Settings, variant: Variant, trial_dir: Path, calls: int,
             rate: int, hold_ms: int, timeout_s: float) -> SippProcess:
        argv = [
            "sipp", f"{LOOPBACK}:{settings.sip_port}", "-sf", str(UAC_SCENARIO),
            "-s", variant.number, "-p", str(free_port()), "-mp", str(free_port(4)),
            *self._sipp_common(), "-m", str(calls), "-r", str(rate), "-l", str(calls),
            "-d", str(hold_ms), "-recv_timeout", str(RECV_TIMEOUT_MS),
            "-timeout", f"{math.ceil(timeout_s)}s", "-trace_stat", "-stf", "stats.csv",
            "-fd", "1",
        ]
        return SippProcess("uac", argv, trial_dir)

    # the project's model -----------------------------------------------------------
    def prepare_project(self, variant: Variant) -> None:
        """Build the model, apply it with a running Kamailio, and check that a call
        of each project variant goes through; once per run."""
        if self._prepared is not None:
            return
        began = time.monotonic()
        settings = self.settings_for(variant)
        sessions = model.open_model(settings)
        spec = model.ModelSpec(gateway_port=self.dest_port, prefixes=self.prefixes)
        model.build_model(settings, sessions, spec, self.log)
        cfg, conf = self.render(variant, settings)
        started: list[Stoppable] = []
        try:
            self._daemons(settings, cfg, conf, started)
            snapshot = model.compile_model(sessions, settings)
            for warning in snapshot.warnings:
                self.log(f"model: compiler warning: {warning}")
            timed: dict[str, float] = {}
            report = model.apply_model(sessions, settings, snapshot, timed=timed)
            node = report.nodes[0]
            self.log(f"model: applied generation {node.generation} in "
                     f"{node.timings.get('total', 0):.1f} s (tariff rows "
                     f"{timed.get('tariff_rows', 0):.1f} s, write "
                     f"{node.timings.get('write', 0):.1f} s, mtree reload "
                     f"{node.timings.get('reload:mtree', 0):.1f} s)")
            self._prepared = node.generation
            trial_dir = settings.var_dir / "smoke"
            self._uas(trial_dir, started)
            for media in (False, True):
                smoke = Variant(f"project-smoke-{int(media)}", "project", media)
                uac = self._uac(settings, smoke, trial_dir / smoke.key, 2, 2, 100, 20)
                self._launch(started, uac, uac.start)
                if uac.wait(timeout=30) != 0:
                    raise RuntimeError(
                        f"the model does not route a call to {smoke.number} "
                        f"({smoke.label}):\n{uac.output_tail()}")
        finally:
            self._stop(started)
        self.model_info = {"prefixes": self.prefixes, "carriers": spec.carriers,
                           "tree_rows": model.tree_rows(settings.switch_db),
                           "seconds": round(time.monotonic() - began, 1)}
        self.log(f"model: smoke calls routed (both routes); prepared in "
                 f"{time.monotonic() - began:.0f} s")

    # one trial -------------------------------------------------------------------
    def trial(self, variant: Variant, rate: int, number: int) -> Trial:
        if variant.config == "project":
            self.prepare_project(variant)
        began = time.monotonic()
        plan = self.plan
        calls = max(1, round(rate * plan.duration_s))
        allowed = math.floor(calls * MAX_FAIL_RATIO)
        settings = self.settings_for(variant)
        self.settings_used = settings
        cfg, conf = self.render(variant, settings)
        trial_dir = settings.var_dir / f"trial-{variant.key}-{number}-{rate}cps"
        started: list[Stoppable] = []
        note: list[str] = []
        cpu: dict[str, float] = {}
        try:
            log_offset = log_size(settings.log_dir / "kamailio.log")
            kamailio, rtpengine = self._daemons(settings, cfg, conf, started)
            if variant.config == "project":
                serving = kamailio_generation(local_node(settings))
                if serving != self._prepared:
                    raise RuntimeError(f"Kamailio serves generation {serving} of the "
                                       f"model, expected {self._prepared}")
            uas = self._uas(trial_dir, started)
            uac = self._uac(settings, variant, trial_dir, calls, rate, plan.hold_ms,
                            plan.trial_timeout_s)
            cpu["kamailio"] = -group_cpu_seconds(kamailio.pid)
            if rtpengine is not None:
                cpu["rtpengine"] = -group_cpu_seconds(rtpengine.pid)
            self._launch(started, uac, uac.start)
            code = uac.wait(timeout=plan.trial_timeout_s + 10)
            cpu["kamailio"] += group_cpu_seconds(kamailio.pid)
            if rtpengine is not None:
                cpu["rtpengine"] += group_cpu_seconds(rtpengine.pid)
            if code not in (0, 1, 97, 99):
                note.append(f"sipp exit {code}")
                if code in (254, 255, -1, -2):
                    raise RuntimeError(f"SIPp failed (exit {code}):\n{uac.output_tail()}")
            if not kamailio.running():
                note.append("kamailio died")
            if not uas.running():
                note.append("uas died")
            note += diagnose_log(kamailio.logfile, log_offset)
        finally:
            self._stop(started)
        stats = parse_stats(trial_dir / "stats.csv", calls)
        failed = calls - stats.successful
        sustained = (stats.creation_s is not None
                     and stats.creation_s <= plan.duration_s * 1.1 + 1.0)
        if not sustained:
            note.append("rate not sustained")
        if stats.failure_kinds:
            note.append(", ".join(f"{k} {v}" for k, v in stats.failure_kinds.items()))
        ok = sustained and failed <= allowed and "kamailio died" not in note

        def per_call(name: str) -> float | None:
            # CPU used while the calls ran, over the calls placed (all daemons' processes)
            return round(cpu[name] * 1e6 / calls, 1) if name in cpu else None

        return Trial(rate, calls, allowed, stats.successful, failed, stats.retransmissions,
                     stats.creation_s, stats.response_ms, sustained, ok, "; ".join(note),
                     round(time.monotonic() - began, 1), per_call("kamailio"),
                     per_call("rtpengine"))


def _await_udp(proc: SippProcess, port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not proc.running():
            raise RuntimeError(f"SIPp {proc.name} exited:\n{proc.output_tail()}")
        if udp_bound(port):
            return
        time.sleep(0.05)
    raise RuntimeError(f"SIPp {proc.name} did not bind UDP port {port}")
