#!/usr/bin/env python3
"""Multi-host pbchain tests in Linux network namespaces (issue 17).

Each "host" is a network namespace with one interface, eth0, whose address is
in a test subnet 10.231.R.0/24 (R random, not overlapping any route of the
machine). The hosts' eth0 are veth pairs whose other ends sit on a bridge in a
"switch" namespace of their own, so nothing is created in (or changed on) the
machine's own network namespace. Every pbnode listens on 0.0.0.0:7700 inside
its host, pbtracker on 0.0.0.0:7600.

Links are shaped with `tc netem` on each host's eth0 (one-way delay host to
host = that delay) where the kernel has netem; where it has not, one line says
so and the scenario runs on unshaped links (never a failure).

Usage (root; ctest runs one scenario per test, see tests/CMakeLists.txt):
  multihost.py BIN_DIR SCENARIO     SCENARIO: five_hosts, partition_heal,
                                    lan_discovery, tls, propagation, selftest
  multihost.py BIN_DIR up N         leave N hosts (a tracker on host N+1) running
  multihost.py BIN_DIR down         remove what `up` started
Exit: 0 passed, 1 failed, 2 usage, 77 skipped (not root, no namespaces, or a
needed feature missing), with one line saying why.

Everything it creates is named pbns-PID-... (namespaces) after the harness's
own pid; it is removed in a finally block and on SIGINT/SIGTERM, and a later
run removes what a killed run (SIGKILL) left behind (namespaces named after a
pid that is no longer a multihost.py). pbnode/pbtracker die with the harness
(PR_SET_PDEATHSIG) and are killed by process group.
"""

import base64
import ctypes
import ipaddress
import json
import os
import random
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time

EXIT_SKIP = 77
EXIT_USAGE = 2
NODE_PORT = 7700
TRACKER_PORT = 7600
# Every wait is bounded by one of these (seconds).
START_TIMEOUT = 30
CONVERGE_TIMEOUT = 90
CMD_TIMEOUT = 20
# Link shaping where netem exists: the 40 ms +- 10 ms, 1 % loss, and
# 40 ms flat for the propagation figure.
NETEM_LOSSY = ["delay", "40ms", "10ms", "loss", "1%"]
NETEM_FLAT = ["delay", "40ms"]
NETEM_FLAT_ONE_WAY_MS = 40
NETEM_UNAVAILABLE = ("tc netem unavailable on this kernel: links are not "
                     "shaped; figures are for unshaped links")
PROPAGATION_BLOCKS = 20
PROPAGATION_WINDOW = 10  # the propagation genesis's difficulty window
# The errors that mean "this machine cannot" (no root, no veth or bridge
# driver): a skip. Any other failure to build the network is a test failure.
NO_CAPABILITY = ("Operation not permitted", "Permission denied",
                 "Unknown device type", "Operation not supported")
STATE_FILE = "/run/pbns-up.json"  # the manual mode's record of what it made
NAME_PREFIX = "pbns-"


class Skip(Exception):
    pass


class Fail(Exception):
    pass


class Exited(Fail):
    """A process died: not worth waiting on."""


class OutOfTime(Exception):
    """The run's overall budget ran out (not a Fail: no wait swallows it)."""


# The overall budget: ctest SIGKILLs the harness at the test's TIMEOUT (300 s,
# tests/multihost/CMakeLists.txt), and then no cleanup runs. So every wait is
# cut to what is left of BUDGET seconds, and an alarm BUDGET + ALARM_GRACE
# seconds in raises OutOfTime wherever the harness is; either way the run
# fails through the same log dump and cleanup, with TIMEOUT - BUDGET -
# ALARM_GRACE seconds left for that cleanup.
BUDGET_ENV = "PBCHAIN_MULTIHOST_BUDGET"
DEFAULT_BUDGET = 240
ALARM_GRACE = 10
_deadline = None  # monotonic time the budget runs out, None: no budget


def remaining():
    return None if _deadline is None else _deadline - time.monotonic()


def arm_budget(seconds, grace=ALARM_GRACE):
    global _deadline
    _deadline = time.monotonic() + seconds

    def on_alarm(*_):
        raise OutOfTime(f"the overall budget of {seconds:g} s (+{grace:g} s) "
                        f"ran out")
    signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds + grace)


def disarm_budget():
    global _deadline
    _deadline = None
    signal.setitimer(signal.ITIMER_REAL, 0)


def log(msg):
    print(f"[multihost {time.strftime('%H:%M:%S')}] {msg}", flush=True)


def run(args, check=True, timeout=CMD_TIMEOUT, input_text=None):
    """Runs a command, returns CompletedProcess (text). Raises Fail on error."""
    try:
        p = subprocess.run(args, capture_output=True, text=True,
                           timeout=timeout, input=input_text)
    except subprocess.TimeoutExpired:
        raise Fail(f"command timed out after {timeout}s: {' '.join(args)}")
    if check and p.returncode != 0:
        raise Fail(f"command failed (exit {p.returncode}): {' '.join(args)}\n"
                   f"{p.stdout}{p.stderr}")
    return p


def wait_for(what, fn, timeout, interval=0.25):
    """Polls fn() until it returns a truthy value; Fail after timeout, or
    OutOfTime when what is left of the overall budget runs out first."""
    left = remaining()
    cut = left is not None and left < timeout
    if cut:
        timeout = max(0.0, left)
    deadline = time.monotonic() + timeout
    last_error = None
    while time.monotonic() < deadline:
        try:
            v = fn()
            if v:
                return v
        except Exited:
            raise
        except Fail as e:
            last_error = e
        time.sleep(interval)
    err = f" (last error: {last_error})" if last_error else ""
    if cut:
        raise OutOfTime(f"the overall budget ran out waiting for {what}{err}")
    raise Fail(f"timed out after {timeout}s waiting for {what}{err}")


_libc = ctypes.CDLL(None, use_errno=True)
PR_SET_PDEATHSIG = 1


def _child_setup():
    # Dies with the harness even if the harness is SIGKILLed (ctest timeout).
    _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


# --- stale state of killed runs -------------------------------------------------

def list_netns():
    p = run(["ip", "netns", "list"], check=False)
    return [line.split()[0] for line in p.stdout.splitlines() if line.strip()]


def pid_is_harness(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return b"multihost" in f.read()
    except OSError:
        return False


def remove_netns(ns):
    """Kills every process in namespace ns, then deletes it."""
    p = run(["ip", "netns", "pids", ns], check=False)
    for pid in p.stdout.split():
        try:
            os.kill(int(pid), signal.SIGKILL)
        except (OSError, ValueError):
            pass
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if not run(["ip", "netns", "pids", ns], check=False).stdout.strip():
            break
        time.sleep(0.1)
    run(["ip", "netns", "del", ns], check=False)


def _stale(name):
    """The pid of a dead run that made name (pbns-PID-...), else None."""
    m = re.match(r"^pbns-(\d+)-", name)
    if not m:
        return None
    pid = int(m.group(1))
    return None if pid == os.getpid() or pid_is_harness(pid) else pid


def sweep_stale():
    """Removes namespaces and temp dirs of runs that were SIGKILLed."""
    for ns in list_netns():
        pid = _stale(ns)
        if pid is not None:
            log(f"removing {ns}, left behind by a killed run (pid {pid})")
            remove_netns(ns)
    tmp = tempfile.gettempdir()
    for d in os.listdir(tmp):
        if "-tmp-" in d and _stale(d) is not None:
            shutil.rmtree(os.path.join(tmp, d), ignore_errors=True)


# --- the network -------------------------------------------------------------------

class Proc:
    def __init__(self, name, popen, out_path, err_path):
        self.name, self.popen = name, popen
        self.out_path, self.err_path = out_path, err_path

    def stdout_text(self):
        with open(self.out_path) as f:
            return f.read()

    def log_tail(self, n=25):
        try:
            with open(self.err_path, errors="replace") as f:
                return "".join(f.readlines()[-n:])
        except OSError:
            return ""


class Host:
    def __init__(self, net, index):
        self.net, self.index = net, index
        self.ns = f"{net.prefix}h{index}"
        self.ip = str(net.subnet.network_address + 10 + index)
        self.port = "sw" + str(index)  # the switch side of the veth
        self.addr = f"{self.ip}:{NODE_PORT}"
        self.datadir = os.path.join(net.tmp, f"host{index}")
        self.proc = None

    def exec_args(self, args):
        return ["ip", "netns", "exec", self.ns] + args

    def run(self, args, **kw):
        return run(self.exec_args(args), **kw)


class Net:
    """N hosts on one bridge, in namespaces named after this process's pid."""

    def __init__(self, bin_dir, n_hosts):
        self.bin = bin_dir
        self.prefix = f"{NAME_PREFIX}{os.getpid()}-"
        self.switch = f"{self.prefix}sw"
        self.tmp = tempfile.mkdtemp(prefix=f"{self.prefix}tmp-")
        self.subnet = self._pick_subnet()
        self.hosts = [Host(self, i) for i in range(1, n_hosts + 1)]
        self.procs = []
        self.watchers = []
        self.netem = None  # True/False once tried
        self.unshaped_reason = "not shaped"
        self.genesis = os.path.join(self.tmp, "genesis.json")
        self.genesis_hash = None
        self.destroyed = False

    # -- setup ------------------------------------------------------------------

    @staticmethod
    def _pick_subnet():
        routes = run(["ip", "-4", "route", "show", "table", "all"],
                     check=False).stdout
        used = []
        for word in routes.split():
            try:
                used.append(ipaddress.ip_network(word, strict=False))
            except ValueError:
                pass
        for _ in range(50):
            cand = ipaddress.ip_network(f"10.231.{random.randrange(1, 255)}.0/24")
            if not any(cand.overlaps(u) for u in used
                       if u.prefixlen > 0):
                return cand
        raise Fail("no free 10.231.R.0/24 test subnet")

    def create(self):
        sweep_stale()
        try:
            p = subprocess.run(["ip", "netns", "add", self.switch],
                               capture_output=True, text=True, timeout=CMD_TIMEOUT)
        except FileNotFoundError:
            raise Skip("needs iproute2's `ip`")
        if p.returncode != 0:
            msg = f"`ip netns add`: {p.stderr.strip()}"
            if any(c in p.stderr for c in NO_CAPABILITY):
                raise Skip(f"cannot make a network namespace ({msg})")
            raise Fail(msg)
        try:
            self._wire()
        except Fail as e:
            # Only a machine that cannot do it skips; any other failure of
            # the wiring commands is a failure of the test.
            if any(c in str(e) for c in NO_CAPABILITY):
                raise Skip("cannot build the test network (bridge, veth): "
                           + " ".join(str(e).split()))
            raise
        log(f"{len(self.hosts)} hosts in namespaces {self.prefix}h1.."
            f"h{len(self.hosts)} on subnet {self.subnet} (bridge in {self.switch})")

    def _wire(self):
        sw = ["ip", "-n", self.switch]
        run(sw + ["link", "set", "lo", "up"])
        for br in ("br0", "br1"):  # br1: the far side of a partition
            run(sw + ["link", "add", br, "type", "bridge"])
            run(sw + ["link", "set", br, "up"])
        for h in self.hosts:
            run(["ip", "netns", "add", h.ns])
            run(["ip", "-n", h.ns, "link", "set", "lo", "up"])
            # Made in the switch namespace, the peer moved into the host's:
            # no interface ever exists in the machine's own namespace.
            run(sw + ["link", "add", h.port, "type", "veth", "peer", "name",
                      "eth0", "netns", h.ns])
            run(sw + ["link", "set", h.port, "master", "br0", "up"])
            run(["ip", "-n", h.ns, "addr", "add",
                 f"{h.ip}/{self.subnet.prefixlen}", "dev", "eth0"])
            run(["ip", "-n", h.ns, "link", "set", "eth0", "up"])

    def shape(self, netem_args, kind="netem"):
        """Tries qdisc kind (netem) with netem_args as the root qdisc of every
        host's eth0 (egress). All hosts or none: where it fails on one host
        (no sch_netem, no tc), the qdiscs already added are removed again, one
        line says so, and it returns False (links unshaped)."""
        if shutil.which("tc") is None:
            log("tc (iproute2) not found: links are not shaped; figures are "
                "for unshaped links")
            self.netem = False
            self.unshaped_reason = "no tc on this machine"
            return False
        done = []
        for h in self.hosts:
            p = run(["ip", "netns", "exec", h.ns, "tc", "qdisc", "add", "dev",
                     "eth0", "root", kind] + netem_args, check=False)
            if p.returncode != 0:
                for d in done:  # never leave the links half shaped
                    run(["ip", "netns", "exec", d.ns, "tc", "qdisc", "del", "dev",
                         "eth0", "root"])
                self.unshaped_reason = f"{kind} failed: {p.stderr.strip()}"
                if kind == "netem":
                    log(NETEM_UNAVAILABLE + f" ({p.stderr.strip()})")
                    if "unknown" in p.stderr:
                        self.unshaped_reason = "no netem on this kernel"
                else:
                    log(f"tc {kind} failed on host{h.index}: links are not "
                        f"shaped ({p.stderr.strip()})")
                self.netem = False
                return False
            done.append(h)
        self.netem = True
        log(f"links shaped: {kind} {' '.join(netem_args)} on every host's eth0")
        return True

    def partition(self, group):
        """Moves the hosts of group onto br1: two isolated segments."""
        for h in group:
            run(["ip", "-n", self.switch, "link", "set", h.port, "master", "br1"])

    def heal(self):
        for h in self.hosts:
            run(["ip", "-n", self.switch, "link", "set", h.port, "master", "br0"])

    # -- processes ----------------------------------------------------------------

    def tool(self, name):
        return os.path.join(self.bin, name)

    def start(self, host, name, args, ready="listening on"):
        out = os.path.join(self.tmp, f"{name}.out")
        err = os.path.join(self.tmp, f"{name}.log")
        with open(out, "w") as fo, open(err, "w") as fe:
            popen = subprocess.Popen(host.exec_args(args), stdout=fo, stderr=fe,
                                     stdin=subprocess.DEVNULL,
                                     start_new_session=True,
                                     preexec_fn=_child_setup)
        proc = Proc(name, popen, out, err)
        self.procs.append(proc)

        def up():
            if popen.poll() is not None:
                raise Exited(
                    f"{name} exited ({popen.returncode}) at start:\n"
                    + proc.log_tail())
            return ready in proc.stdout_text()
        wait_for(f"{name} to listen", up, START_TIMEOUT, 0.1)
        return proc

    def stop_proc(self, proc):
        if proc.popen.poll() is None:
            try:
                os.killpg(proc.popen.pid, signal.SIGTERM)
            except OSError:
                pass
            try:
                proc.popen.wait(10)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(proc.popen.pid, signal.SIGKILL)
                except OSError:
                    pass
                try:
                    proc.popen.wait(10)
                except subprocess.TimeoutExpired:
                    log(f"{proc.name} (pid {proc.popen.pid}) still there 10 s "
                        f"after SIGKILL")

    def make_genesis(self, allocs, target_interval_ms=1000, extra=()):
        args = [self.tool("pbtool"), "genesis", "--out", self.genesis,
                "--chain-id", "pbchain-multihost",
                "--target-interval-ms", str(target_interval_ms), *extra]
        for a in allocs:
            args += ["--alloc", f"{a}=1000000"]
        self.genesis_hash = run(args).stdout.split()[0]

    def keygen(self, name):
        path = os.path.join(self.tmp, f"{name}.json")
        addr = run([self.tool("pbtool"), "keygen", "--out", path]).stdout.split()[0]
        return path, addr

    def start_tracker(self, host, extra=()):
        return self.start(host, "tracker", [self.tool("pbtracker"), "--listen",
                                            f"0.0.0.0:{TRACKER_PORT}", *extra])

    def start_node(self, host, extra=(), mine_to=None, role="full"):
        args = [self.tool("pbnode"), "--listen", f"0.0.0.0:{NODE_PORT}",
                "--datadir", host.datadir, "--genesis", self.genesis,
                "--role", role, *extra]
        if mine_to:
            args += ["--mine", "--miner-address", mine_to, "--mining-threads", "1"]
        host.proc = self.start(host, f"node{host.index}", args)
        return host.proc

    # -- queries ------------------------------------------------------------------

    def cli_args(self):
        return getattr(self, "cli_tls", [])

    def cli(self, host, args, check=True, target=None):
        """pbcli --json in host's namespace against target (default: its node)."""
        p = host.run([self.tool("pbcli"), "--node", target or host.addr,
                      "--json", "--timeout", "5s", *self.cli_args(), *args],
                     check=check)
        if not check:
            return p
        return json.loads(p.stdout) if p.stdout.strip() else None

    def info(self, host):
        return self.cli(host, ["info"])

    @staticmethod
    def buf_path():
        """The buf CLI that tools/lint-proto.sh installs (npm), the only gRPC
        client here that can call the tracker's ListPeers; None without it."""
        buf = os.path.normpath(os.path.join(
            os.path.dirname(os.path.abspath(__file__)), "..", "..", "tools",
            "node_modules", ".bin", "buf"))
        return buf if os.access(buf, os.X_OK) else None

    def tracker_listing_checkable(self):
        if self.buf_path():
            return True
        log("SKIPPED sub-check: the tracker's ListPeers listing (needs "
            "tools/node_modules/.bin/buf: run `bash tools/lint-proto.sh` once "
            "to install it); every other check still runs")
        return False

    def tracker_peers(self, host, tls=None):
        buf = self.buf_path()
        h = bytes.fromhex(self.genesis_hash)[::-1]
        body = json.dumps({"genesisHash": base64.b64encode(h).decode()})
        scheme = "https" if tls else "http"
        args = [buf, "curl", "--protocol", "grpc", "-d", body]
        if tls:
            args += ["--cacert", tls[0], "--cert", tls[1], "--key", tls[2]]
        else:
            args += ["--http2-prior-knowledge"]
        args.append(f"{scheme}://{host.ip}:{TRACKER_PORT}/pbchain.v1.Tracker/ListPeers")
        env_home = os.path.join(self.tmp, "bufhome")
        os.makedirs(env_home, exist_ok=True)
        p = run(host.exec_args(["env", f"HOME={env_home}"] + args), check=False)
        if p.returncode != 0:
            raise Fail(f"tracker ListPeers failed: {p.stderr.strip()}")
        return json.loads(p.stdout)

    def block_at(self, host, height):
        """Hash of host's main-chain block at height, None if it has none."""
        p = self.cli(host, ["block", str(height)], check=False)
        return json.loads(p.stdout)["hash"] if p.returncode == 0 else None

    def wait_converged(self, hosts, min_height, timeout=CONVERGE_TIMEOUT):
        """Waits until the nodes of hosts share their main chain up to a
        height >= min_height: the lowest of their heights, m, has the same
        block on every node. Works while a miner keeps extending the chain
        (a same-tip check would race blocks mined between the queries).
        Returns {"height": m, "hash": that block}."""
        def shared():
            m = min(int(self.info(h)["height"]) for h in hosts)
            if m < min_height:
                return None
            hashes = {self.block_at(h, m) for h in hosts}
            if len(hashes) == 1 and None not in hashes:
                return {"height": m, "hash": hashes.pop()}
            return None
        try:
            return wait_for(f"{len(hosts)} nodes to share their chain up to a "
                            f"height >= {min_height}", shared, timeout, 0.5)
        except Fail:
            self.log_states(hosts)
            raise

    def wait_same_tip(self, hosts, min_work=0, timeout=CONVERGE_TIMEOUT):
        """Waits until the nodes of hosts have one tip with chain work >=
        min_work (for when no one mines). Returns that node info."""
        def same():
            infos = [self.info(h) for h in hosts]
            if (len({i["tip_hash"] for i in infos}) == 1
                    and int(infos[0]["chain_work"]) >= min_work):
                return infos[0]
            return None
        try:
            return wait_for(f"{len(hosts)} nodes on one tip with work >= {min_work}",
                            same, timeout, 0.5)
        except Fail:
            self.log_states(hosts)
            raise

    def log_states(self, hosts):
        for h in hosts:
            try:
                i = self.info(h)
                log(f"  node{h.index}: height {i['height']} tip {i['tip_hash'][:16]}"
                    f" work {i['chain_work']} peers {i['peer_count']}")
            except Fail as e:
                log(f"  node{h.index}: {e}")

    def mining(self, host, on):
        self.cli(host, ["admin", "mining", "on" if on else "off",
                        "--datadir", host.datadir])

    def tx_status(self, host, txid):
        p = self.cli(host, ["tx", txid], check=False)
        if p.returncode != 0:
            return None
        return json.loads(p.stdout)

    def wait_confirmed(self, hosts, txid, timeout=CONVERGE_TIMEOUT):
        def confirmed():
            for h in hosts:
                s = self.tx_status(h, txid)
                if not s or s.get("status") != "confirmed":
                    return False
            return True
        wait_for(f"tx {txid[:16]} confirmed on {len(hosts)} nodes", confirmed,
                 timeout, 0.5)

    def send(self, host, wallet, to, amount):
        p = self.cli(host, ["--wallet", wallet, "send", to, str(amount),
                            "--no-wait"], check=False)
        if p.returncode != 0:
            raise Fail(f"pbcli send on node{host.index} failed: {p.stdout}{p.stderr}")
        return json.loads(p.stdout)["txid"]

    # -- teardown -------------------------------------------------------------------

    def dump_logs(self):
        for p in self.procs:
            log(f"--- {p.name} log (tail) ---")
            sys.stdout.write(p.log_tail())
        sys.stdout.flush()

    def destroy(self):
        """Stops everything and removes the namespaces and the temp dir. Each
        step runs on its own: one that fails is logged and the rest still run
        (a failed kill must not leave namespaces or the temp dir behind)."""
        # A second SIGTERM/SIGINT (or the budget alarm) must not cut the
        # cleanup short.
        disarm_budget()
        if self.destroyed:
            return
        self.destroyed = True
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)

        def step(what, fn, *args):
            try:
                fn(*args)
            except Exception as e:  # log and go on with the next step
                log(f"cleanup: {what} failed: {type(e).__name__}: {e}")

        for w in self.watchers:
            step("stopping a watcher", w.stop)
        for p in reversed(self.procs):
            step(f"stopping {p.name}", self.stop_proc, p)
        for ns in [h.ns for h in self.hosts] + [self.switch]:
            step(f"removing namespace {ns}", remove_netns, ns)
        keep = os.environ.get("PBCHAIN_MULTIHOST_LOGS")
        if keep:  # the daemons' logs survive the run (for a look afterwards)
            step(f"creating {keep}", os.makedirs, keep, 0o777, True)
            for p in self.procs:
                for f in (p.out_path, p.err_path):
                    step(f"copying {f} to {keep}", shutil.copy, f, keep)
        step(f"removing {self.tmp}", shutil.rmtree, self.tmp)
        try:
            mine = {h.ns for h in self.hosts} | {self.switch}
            left = [ns for ns in list_netns() if ns in mine]
        except Exception as e:
            left = [f"(cannot list: {e})"]
        if left:
            log(f"WARNING: namespaces left: {left}")


class Watcher:
    """`pbcli watch --json` on one node; stamps each new tip on arrival."""

    def __init__(self, net, host):
        self.arrived = {}  # hash -> monotonic time
        self.lock = threading.Lock()
        self.popen = subprocess.Popen(
            host.exec_args([net.tool("pbcli"), "--node", host.addr, "--json",
                            *net.cli_args(), "watch"]),
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
            start_new_session=True, preexec_fn=_child_setup)
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()
        net.watchers.append(self)

    def _read(self):
        for line in self.popen.stdout:
            t = time.monotonic()
            try:
                h = json.loads(line)["hash"]
            except (ValueError, KeyError):
                continue
            with self.lock:
                self.arrived.setdefault(h, t)

    def get(self, h):
        with self.lock:
            return self.arrived.get(h)

    def stop(self):
        if self.popen.poll() is None:
            try:
                os.killpg(self.popen.pid, signal.SIGKILL)
            except OSError:
                pass
            try:
                self.popen.wait(10)
            except subprocess.TimeoutExpired:
                log(f"watcher pid {self.popen.pid} still there 10 s after SIGKILL")


# --- checks shared by scenarios --------------------------------------------------

def in_subnet(net, address):
    host = address.rsplit(":", 1)[0].strip("[]")
    try:
        return ipaddress.ip_address(host) in net.subnet
    except ValueError:
        return False


def check_node_peer_addresses(net, hosts):
    """Every address a node lists (connected and known) is a host's own."""
    for h in hosts:
        peers = net.cli(h, ["peers"])
        addrs = [p.get("address", "") for p in peers.get("connected", [])]
        addrs += [p.get("address", "") if isinstance(p, dict) else str(p)
                  for p in peers.get("known", [])]
        if not peers.get("connected"):
            raise Fail(f"node{h.index} has no connected peer")
        bad = [a for a in addrs if not in_subnet(net, a)]
        if bad:
            raise Fail(f"node{h.index} lists peer addresses outside "
                       f"{net.subnet}: {bad} (all: {addrs})")
        log(f"node{h.index} peers: {sorted(set(addrs))}")


# --- scenarios -----------------------------------------------------------------------

def scenario_five_hosts(net):
    """5 nodes + a tracker on a sixth host, 40ms+-10ms 1% loss links:
    convergence, a tx relayed and confirmed everywhere, advertised addresses
    are the hosts' own."""
    net.create()
    net.shape(NETEM_LOSSY)
    _, miner = net.keygen("miner")
    wallet, waddr = net.keygen("wallet")
    _, dest = net.keygen("dest")
    net.make_genesis([waddr])
    nodes, tracker_host = net.hosts[:5], net.hosts[5]
    net.start_tracker(tracker_host)
    tracker = f"{tracker_host.ip}:{TRACKER_PORT}"
    for i, h in enumerate(nodes):
        net.start_node(h, ["--tracker", tracker],
                       mine_to=miner if i == 0 else None,
                       role="head" if i == 0 else "full")
    net.wait_converged(nodes, 3)
    log("converged")
    # The transaction enters at the last node (not a miner) and must be
    # relayed to node1 (the miner) and confirmed on every node.
    txid = net.send(nodes[-1], wallet, dest, 1234)
    net.wait_confirmed(nodes, txid)
    log(f"tx {txid[:16]} confirmed on all 5 nodes")
    for h in nodes:
        bal = net.cli(h, ["balance", dest])
        if int(bal["balance"]) != 1234:
            raise Fail(f"node{h.index}: balance of dest is {bal['balance']}, want 1234")
    # Advertised addresses: the tracker's list and every node's peer list.
    if net.tracker_listing_checkable():
        listed = wait_for(
            "the tracker to list all 5 nodes",
            lambda: (lambda r: r if len(r.get("peers", [])) >= 5 else None)(
                net.tracker_peers(tracker_host)), CONVERGE_TIMEOUT, 0.5)
        addrs = sorted(p.get("address", "") for p in listed["peers"])
        want = sorted(h.addr for h in nodes)
        log(f"tracker lists: {addrs}")
        if addrs != want:
            raise Fail(f"tracker lists {addrs}, want the hosts' own {want}")
    check_node_peer_addresses(net, nodes)


def scenario_partition_heal(net):
    """Hosts 1-3 | 4-5 split, both sides mine and take a tx, heal: every node
    ends on the most-work branch, the losing side's tx is mined again."""
    net.create()
    net.shape(NETEM_LOSSY)
    _, miner_a = net.keygen("miner_a")
    _, miner_b = net.keygen("miner_b")
    wallet_a, addr_a = net.keygen("wallet_a")
    wallet_b, addr_b = net.keygen("wallet_b")
    _, dest = net.keygen("dest")
    net.make_genesis([addr_a, addr_b])
    side_a, side_b = net.hosts[:3], net.hosts[3:]
    # Full mesh of --peer (no tracker): each node dials every other.
    for h in net.hosts:
        others = ",".join(o.addr for o in net.hosts if o is not h)
        mine = miner_a if h is side_a[0] else miner_b if h is side_b[0] else None
        net.start_node(h, ["--peer", others], mine_to=mine)
    base = net.wait_converged(net.hosts, 2)
    log(f"converged at height {base['height']}; partitioning "
        f"{[h.index for h in side_a]} | {[h.index for h in side_b]}")
    net.partition(side_b)
    # Both sides mine past the split and confirm their own transaction.
    tx_a = net.send(side_a[1], wallet_a, dest, 111)
    tx_b = net.send(side_b[1], wallet_b, dest, 222)
    net.wait_confirmed(side_a, tx_a)
    net.wait_confirmed(side_b, tx_b)
    net.wait_converged(side_a, base["height"] + 3)
    net.wait_converged(side_b, base["height"] + 3)
    b_block = net.tx_status(side_b[0], tx_b)["block_hash"]
    # Side B stops mining; its two nodes settle on its last block.
    net.mining(side_b[0], False)
    b_stop = net.wait_same_tip(side_b)
    b_tip, b_work = b_stop["tip_hash"], int(b_stop["chain_work"])
    # The split was real: side A knows neither B's tip nor B's tx.
    for h in side_a:
        if net.tx_status(h, tx_b):
            raise Fail(f"node{h.index} knows side B's tx during the partition")
        p = net.cli(h, ["block", b_tip], check=False)
        if p.returncode == 0 or "unknown block" not in p.stdout + p.stderr:
            raise Fail(f"node{h.index} has side B's tip during the partition "
                       f"(pbcli block: exit {p.returncode} {p.stdout}{p.stderr})")
    # Side A mines on until its branch has more work (chain_work is a
    # decimal string) and is 2 blocks longer.
    wait_for("side A to out-work side B",
             lambda: (lambda i: int(i["chain_work"]) > b_work
                      and int(i["height"]) >= int(b_stop["height"]) + 2)(
                          net.info(side_a[0])),
             CONVERGE_TIMEOUT, 0.5)
    a_work = int(net.info(side_a[0])["chain_work"])
    log(f"side B stopped at height {b_stop['height']} work {b_work}, side A "
        f"at work {a_work}: healing")
    net.heal()
    # The losing side's transaction must be confirmed again (re-mined by A's
    # miner, which still mines), on every node.
    net.wait_confirmed(net.hosts, tx_b)
    net.wait_confirmed(net.hosts, tx_a)
    log("both transactions confirmed on every node; side A stops mining")
    net.mining(side_a[0], False)
    final = net.wait_same_tip(net.hosts, min_work=a_work)
    log(f"all on tip {final['tip_hash'][:16]} height {final['height']}")
    # Side B's old tip is off the main chain everywhere: a side branch on
    # side B's nodes; side A's nodes may never have fetched it ("unknown").
    for h in net.hosts:
        p = net.cli(h, ["block", b_tip], check=False)
        if p.returncode == 0:
            if json.loads(p.stdout).get("in_main_chain"):
                raise Fail(f"node{h.index}: side B's tip is still in the main chain")
        elif h in side_b or "unknown block" not in p.stdout + p.stderr:
            raise Fail(f"node{h.index}: pbcli block {b_tip}: {p.stdout}{p.stderr}")
    for h in net.hosts:
        now = net.tx_status(h, tx_b)["block_hash"]
        if now == b_block:
            raise Fail(f"node{h.index}: side B's tx is still in its side-B block")
    for h in net.hosts:
        bal = int(net.cli(h, ["balance", dest])["balance"])
        if bal != 333:
            raise Fail(f"node{h.index}: dest balance {bal}, want 333")
    log("both sides' transactions confirmed on every node after the heal")
    check_node_peer_addresses(net, net.hosts)


# node/p2p/network.cc logs one line per subnet scan (DiscoverLoop).
DISCOVERY_LINE = re.compile(
    r"discovery: (\d+) node\(s\) of this network in \S+ ports (\d+)-(\d+) "
    r"\((\d+) probes, (\d+) of them to neighbour-table hosts\)")
DISCOVER_PORTS = (NODE_PORT, NODE_PORT + 9)
# Sent in a host's namespace: one UDP datagram to each address given (port 9,
# discard), so the kernel resolves them by ARP and they enter the host's
# neighbour table (/proc/net/arp), which pbnode's scan reads.
TOUCH_HOSTS = ("import socket,sys\n"
               "s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\n"
               "[s.sendto(b'x',(a,9)) for a in sys.argv[1:]]\n")


def fill_neighbour_tables(net):
    """Makes every host's neighbour table list every other host."""
    for h in net.hosts:
        others = [o.ip for o in net.hosts if o is not h]

        def listed(h=h, others=others):
            h.run(["python3", "-c", TOUCH_HOSTS, *others])
            table = h.run(["cat", "/proc/net/arp"]).stdout
            rows = {line.split()[0]: line.split()[2]
                    for line in table.splitlines()[1:] if len(line.split()) > 2}
            return all(rows.get(ip, "0x0") != "0x0" for ip in others)
        wait_for(f"host{h.index}'s neighbour table to list the other hosts",
                 listed, START_TIMEOUT, 0.2)
    log("every host's neighbour table lists every other host")


def scenario_lan_discovery(net):
    """Nodes find each other with --discover-subnet alone (no tracker, seeds),
    and each node's own scan (not peer exchange) finds the nodes up before it,
    probing first the hosts of its (real, kernel) neighbour table."""
    help_text = run([net.tool("pbnode"), "--helpfull"], check=False).stdout
    if "discover_subnet" not in help_text:
        raise Skip("needs --discover-subnet (pbnode of this build has no such flag)")
    net.create()
    # Delay without loss: node 2's first scan has one real target, and one
    # lost packet (a 1 s TCP retransmit) would outlast its 500 ms probe.
    net.shape(NETEM_FLAT)
    fill_neighbour_tables(net)
    _, miner = net.keygen("miner")
    net.make_genesis([])
    low, high = DISCOVER_PORTS
    # The /28 of the test subnet that holds the hosts (.11-.14): 14 addresses
    # x 10 ports, so a whole scan (whose end the log line below marks) takes
    # seconds where the /24 takes over a minute.
    scan = ipaddress.ip_network(f"{net.hosts[0].ip}/28", strict=False)
    if not all(ipaddress.ip_address(h.ip) in scan for h in net.hosts):
        raise Fail(f"the hosts are not all in {scan}")
    for i, h in enumerate(net.hosts):
        net.start_node(h, ["--discover-subnet", str(scan), "--discover-ports",
                           f"{low}-{high}"],
                       mine_to=miner if i == 0 else None)
    net.wait_converged(net.hosts, 3)
    n = len(net.hosts)
    # Each node probes the subnet itself, so each ends up connected to all
    # the others (4 hosts: well under --max-outbound).
    for h in net.hosts:
        def all_found(h=h):
            peers = net.cli(h, ["peers"])
            addrs = {p.get("address") for p in peers.get("connected", [])}
            return addrs >= {o.addr for o in net.hosts if o is not h}
        wait_for(f"node{h.index} to be connected to all {n - 1} others",
                 all_found, CONVERGE_TIMEOUT)
    # The scans themselves, from each node's log: node i's first scan began
    # once nodes 1..i-1 listened, so it found at least one of them by itself
    # (not necessarily all: a scan ends early once the node has a peer, and
    # peer exchange brings the rest), and it read the neighbour table: every
    # other host, on each port of the range, is in its target list as a
    # neighbour-table host.
    want_k = (n - 1) * (high - low + 1)
    for h in net.hosts:
        def first_scan(h=h):
            m = DISCOVERY_LINE.search(h.proc.log_tail(10000))
            return m and tuple(int(x) for x in m.groups())
        found, _, _, probes, k = wait_for(f"node{h.index}'s first scan to end",
                                          first_scan, CONVERGE_TIMEOUT, 0.5)
        log(f"node{h.index} first scan: {found} node(s), {probes} probes, {k} "
            f"to neighbour-table hosts")
        if k != want_k:
            raise Fail(f"node{h.index} probed {k} neighbour-table targets, want "
                       f"{want_k} (the other {n - 1} hosts x "
                       f"{high - low + 1} ports)")
        if found < min(1, h.index - 1):
            raise Fail(f"node{h.index}'s own scan found {found} node(s), but "
                       f"the {h.index - 1} started before it were listening")
    check_node_peer_addresses(net, net.hosts)
    log(f"{n} nodes found each other by subnet discovery and converged")


def scenario_tls(net):
    """3 nodes + tracker, mutual TLS on every link (peers, tracker, clients)."""
    net.create()
    net.shape(NETEM_LOSSY)
    ca = os.path.join(net.tmp, "ca")
    run([net.tool("pbtool"), "tls-ca", "--out", ca])
    certs = os.path.join(net.tmp, "certs")
    for h in net.hosts:
        run([net.tool("pbtool"), "tls-cert", "--ca", ca, "--name", f"host{h.index}",
             "--ip", h.ip, "--out", certs])
    ca_crt = os.path.join(ca, "ca.crt")

    def tls_flags(h, client_prefix="--tls-client"):
        crt = os.path.join(certs, f"host{h.index}.crt")
        key = os.path.join(certs, f"host{h.index}.key")
        return ["--tls-cert", crt, "--tls-key", key, "--tls-ca", ca_crt,
                "--tls-client-ca", ca_crt, f"{client_prefix}-cert", crt,
                f"{client_prefix}-key", key]

    _, miner = net.keygen("miner")
    wallet, waddr = net.keygen("wallet")
    _, dest = net.keygen("dest")
    net.make_genesis([waddr])
    nodes, tracker_host = net.hosts[:3], net.hosts[3]
    net.start_tracker(tracker_host, tls_flags(tracker_host))
    tracker = f"{tracker_host.ip}:{TRACKER_PORT}"
    for i, h in enumerate(nodes):
        net.start_node(h, ["--tracker", tracker] + tls_flags(h),
                       mine_to=miner if i == 0 else None)
    client_crt = os.path.join(certs, f"host{tracker_host.index}.crt")
    client_key = os.path.join(certs, f"host{tracker_host.index}.key")
    # Plaintext is refused: a pbcli without TLS cannot read the node.
    p = net.cli(nodes[0], ["info"], check=False)
    if p.returncode == 0:
        raise Fail("node1 answered a plaintext client: TLS is not on")
    net.cli_tls = ["--tls-ca", ca_crt, "--tls-client-cert", client_crt,
                   "--tls-client-key", client_key]
    net.wait_converged(nodes, 3)
    txid = net.send(nodes[-1], wallet, dest, 77)
    net.wait_confirmed(nodes, txid)
    log(f"tx {txid[:16]} confirmed on all nodes over TLS")
    if net.tracker_listing_checkable():
        listed = wait_for(
            "the TLS tracker to list all 3 nodes",
            lambda: (lambda r: r if len(r.get("peers", [])) >= 3 else None)(
                net.tracker_peers(tracker_host,
                                  tls=(ca_crt, client_crt, client_key))),
            CONVERGE_TIMEOUT, 0.5)
        addrs = sorted(p.get("address", "") for p in listed["peers"])
        if addrs != sorted(h.addr for h in nodes):
            raise Fail(f"TLS tracker lists {addrs}")
    check_node_peer_addresses(net, nodes)


def scenario_propagation(net):
    """Line of 5 hosts (node i --connect-only --peer node i-1), 40 ms links;
    node1 mines; prints the median, min, max node1 -> node5 arrival delay over
    20 blocks, next to the ideal of 4 one-way delays. Asserts only that the
    blocks arrive, in order, at node5 (no timed assertion)."""
    net.create()
    shaped = net.shape(NETEM_FLAT)
    _, miner = net.keygen("miner")
    # A short retarget window: blocks settle at about 500 ms apart after
    # PROPAGATION_WINDOW blocks (the first ones come much faster), and only
    # blocks after that are sampled, so one block's relay is mostly over
    # before the next is mined.
    net.make_genesis([], target_interval_ms=500,
                     extra=["--difficulty-window", str(PROPAGATION_WINDOW)])
    for i, h in enumerate(net.hosts):
        # node1 dials no one (it would learn the others by peer exchange);
        # node i > 1 dials only node i-1.
        extra = (["--connect-only", "--peer", net.hosts[i - 1].addr] if i > 0
                 else ["--max-outbound", "0"])
        net.start_node(h, extra, mine_to=miner if i == 0 else None)
    net.wait_converged(net.hosts, PROPAGATION_WINDOW + 2)
    # The line really is a line: node i's peers are node i-1 and node i+1.
    for i, h in enumerate(net.hosts):
        want = {o.addr for o in net.hosts[max(0, i - 1):i + 2] if o is not h}
        got = {p["address"] for p in net.cli(h, ["peers"])["connected"]}
        if got != want:
            raise Fail(f"node{h.index}'s peers are {sorted(got)}, want {sorted(want)}")
    first, last = Watcher(net, net.hosts[0]), Watcher(net, net.hosts[4])
    start_height = int(net.info(net.hosts[0])["height"])
    # Skip the current tip (reported at once by watch) by sampling only blocks
    # of greater height, once each watcher has reported its current tip.
    wait_for("the watchers to start", lambda: first.arrived and last.arrived, 30, 0.1)
    samples, mined_at, arrivals = [], [], []
    seen = set()
    deadline = time.monotonic() + min(180, remaining() or 180)
    while len(samples) < PROPAGATION_BLOCKS and time.monotonic() < deadline:
        with first.lock:
            items = list(first.arrived.items())
        for h, t1 in items:
            if h in seen:
                continue
            t5 = last.get(h)
            if t5 is None:
                continue
            seen.add(h)
            blk = net.cli(net.hosts[0], ["block", h], check=False)
            if blk.returncode != 0:
                continue
            height = int(json.loads(blk.stdout)["height"])
            if height <= start_height:
                continue
            samples.append((t5 - t1) * 1000)
            mined_at.append(t1)
            arrivals.append((t5, height, h))
        time.sleep(0.2)
    if len(samples) < PROPAGATION_BLOCKS:
        raise Fail(f"only {len(samples)} of {PROPAGATION_BLOCKS} blocks reached "
                   f"node5 in time")
    # In order: node5 took the sampled blocks as its tip in height order.
    arrivals.sort()
    heights = [a[1] for a in arrivals]
    if any(b <= a for a, b in zip(heights, heights[1:])):
        raise Fail(f"blocks reached node5 out of order: heights in arrival "
                   f"order {heights}")
    log(f"node5 took blocks {heights[0]}..{heights[-1]} in height order")
    samples = samples[:PROPAGATION_BLOCKS]
    mined_at = sorted(mined_at[:PROPAGATION_BLOCKS])
    interval_ms = (mined_at[-1] - mined_at[0]) * 1000 / (len(mined_at) - 1)
    # Unshaped, the figure is relay and processing time alone (no link
    # delay), and says so; it is printed, never asserted.
    ideal = (f"{4 * NETEM_FLAT_ONE_WAY_MS} ms (4 x {NETEM_FLAT_ONE_WAY_MS} ms)"
             if shaped else f"n/a ({net.unshaped_reason})")
    print(f"propagation node1 -> node5 (4 hops, line of 5 hosts, "
          f"{'netem 40 ms links' if shaped else 'UNSHAPED veth links'}): median "
          f"{statistics.median(samples):.1f} ms, min {min(samples):.1f} ms, max "
          f"{max(samples):.1f} ms over {len(samples)} blocks; ideal {ideal}; "
          f"blocks {interval_ms:.0f} ms apart on average",
          flush=True)


def scenario_selftest(net):
    """The harness's own safety nets, no pbchain process: (0) a wiring
    command that fails for a reason other than a missing capability is a
    failure, not a skip; (1) a wait cut by
    the overall budget ends with OutOfTime when the budget, not the wait's
    own timeout, runs out; (2) the budget alarm raises OutOfTime in code that
    does not wait_for; (3) destroy() still kills the processes and removes
    the namespaces and the temp dir when stopping a process, a watcher and
    copying the logs all fail; (4) link shaping that fails on one host
    leaves no host shaped."""
    # (0) A wiring command that fails for another reason than a missing
    # capability (here a switch port name too long for an interface) is a
    # failure, not a skip.
    # net.create() first: a machine that cannot make namespaces skips there.
    net.create()
    saved = remaining()
    bad = Net(net.bin, 1)
    bad.switch = net.prefix + "badsw"
    bad.hosts[0].ns = net.prefix + "badh1"
    bad.hosts[0].port = "x" * 20
    try:
        bad.create()
        raise Fail("a broken wiring command did not fail create()")
    except Skip as e:
        raise Fail(f"a broken wiring command became a skip: {e}")
    except Fail as e:
        log(f"broken wiring fails: {' '.join(str(e).split())[:120]}")
    finally:
        bad.destroy()
    # (4) Shaping is all hosts or none: tbf (this kernel has it, not
    # necessarily netem) works on host 1, host 2 fails (its namespace is made
    # to be missing): host 1's qdisc must be gone again.
    real_ns = net.hosts[1].ns
    net.hosts[1].ns = net.prefix + "missing"
    try:
        shaped = net.shape(["rate", "100mbit", "burst", "32kbit", "latency",
                            "50ms"], kind="tbf")
    finally:
        net.hosts[1].ns = real_ns
    qdiscs = net.hosts[0].run(["tc", "qdisc", "show", "dev", "eth0"]).stdout
    if shaped or "tbf" in qdiscs:
        raise Fail(f"shaping failed on host 2 but host 1 keeps: {qdiscs}")
    if not net.shape(["rate", "100mbit", "burst", "32kbit", "latency", "50ms"],
                     kind="tbf"):
        raise Fail("tbf shaping failed on every host")
    for h in net.hosts:
        if "tbf" not in h.run(["tc", "qdisc", "show", "dev", "eth0"]).stdout:
            raise Fail(f"host{h.index} has no tbf qdisc after shape()")
    # (1) A 60 s wait under a 1 s budget.
    arm_budget(1, grace=30)
    t0 = time.monotonic()
    try:
        wait_for("something that never happens", lambda: False, 60, 0.1)
        raise Fail("wait_for returned")
    except OutOfTime as e:
        took = time.monotonic() - t0
        if took > 10 or "overall budget" not in str(e):
            raise Fail(f"budget-cut wait: {e} after {took:.1f} s")
    # (2) The alarm, 0.5 s after a 0.5 s budget, in a plain sleep.
    arm_budget(0.5, grace=0.5)
    try:
        time.sleep(30)
        raise Fail("the budget alarm did not fire")
    except OutOfTime as e:
        log(f"alarm: {e}")
    arm_budget(saved if saved is not None else DEFAULT_BUDGET)
    # (3) One process per host that cannot be stopped the normal way.
    for h in net.hosts:
        net.start(h, f"sleeper{h.index}",
                  ["sh", "-c", "echo listening on; exec sleep 600"])
    pids = [p.popen.pid for p in net.procs]

    class BrokenWatcher:
        def stop(self):
            raise subprocess.TimeoutExpired("pbcli watch", 10)

    def broken_stop(proc):
        raise Fail(f"injected: cannot stop {proc.name}")
    net.watchers.append(BrokenWatcher())
    net.stop_proc = broken_stop
    blocker = os.path.join(net.tmp, "not-a-dir")
    with open(blocker, "w"):
        pass
    os.environ["PBCHAIN_MULTIHOST_LOGS"] = os.path.join(blocker, "logs")
    try:
        net.destroy()
    finally:
        del os.environ["PBCHAIN_MULTIHOST_LOGS"]
    left = [ns for ns in list_netns() if ns.startswith(net.prefix)]
    if left:
        raise Fail(f"destroy() left namespaces {left}")
    if os.path.exists(net.tmp):
        raise Fail(f"destroy() left {net.tmp}")
    alive = []
    for pid in pids:
        try:
            if os.waitpid(pid, os.WNOHANG) == (0, 0):
                alive.append(pid)
        except ChildProcessError:
            pass
    if alive:
        raise Fail(f"destroy() left processes {alive}")
    log("destroy() cleaned up despite three failing steps")


SCENARIOS = {
    "five_hosts": (scenario_five_hosts, 6),
    "partition_heal": (scenario_partition_heal, 5),
    "lan_discovery": (scenario_lan_discovery, 4),
    "tls": (scenario_tls, 4),
    "propagation": (scenario_propagation, 5),
    "selftest": (scenario_selftest, 2),
}


# --- manual mode -------------------------------------------------------------------

def manual_up(bin_dir, n):
    net = Net(bin_dir, n + 1)
    try:
        net.create()
        net.shape(NETEM_LOSSY)
        _, miner = net.keygen("miner")
        wallet, waddr = net.keygen("wallet")
        net.make_genesis([waddr])
        tracker_host = net.hosts[-1]
        net.start_tracker(tracker_host)
        for i, h in enumerate(net.hosts[:-1]):
            net.start_node(h, ["--tracker", f"{tracker_host.ip}:{TRACKER_PORT}"],
                           mine_to=miner if i == 0 else None,
                           role="head" if i == 0 else "full")
    except BaseException:
        net.destroy()
        raise
    state = {"pid": os.getpid(), "tmp": net.tmp, "prefix": net.prefix,
             "namespaces": [h.ns for h in net.hosts] + [net.switch]}
    with open(STATE_FILE, "w") as f:
        json.dump(state, f)
    print(f"{n} pbnode hosts + tracker on {net.subnet}; state in {net.tmp}")
    for h in net.hosts[:-1]:
        print(f"  node{h.index}: {h.addr}  (namespace {h.ns}, log {net.tmp}/node{h.index}.log)")
    print(f"  tracker: {tracker_host.ip}:{TRACKER_PORT}  (namespace {tracker_host.ns})")
    h = net.hosts[0]
    print(f"Try:\n  ip netns exec {h.ns} {net.tool('pbcli')} --node {h.addr} info")
    print(f"  ip netns exec {h.ns} {net.tool('pbcli')} --node {h.addr} "
          f"--wallet {wallet} send {waddr} 5")
    print(f"Remove it: {sys.argv[0]} {bin_dir} down   (or Ctrl-C here)", flush=True)
    # The processes die with this one (PDEATHSIG), so it stays until `down`
    # (SIGTERM) or Ctrl-C.
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        while not stop.wait(1):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        net.destroy()
        try:
            os.unlink(STATE_FILE)
        except OSError:
            pass
    return 0


def manual_down():
    try:
        with open(STATE_FILE) as f:
            state = json.load(f)
    except OSError:
        print("multihost down: nothing is up (no " + STATE_FILE + ")")
        return 0
    pid = state["pid"]
    if pid_is_harness(pid):
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 30
        while pid_is_harness(pid) and time.monotonic() < deadline:
            time.sleep(0.2)
    for ns in state["namespaces"]:
        if ns in list_netns():
            remove_netns(ns)
    shutil.rmtree(state["tmp"], ignore_errors=True)
    try:
        os.unlink(STATE_FILE)
    except OSError:
        pass
    print("multihost down: removed")
    return 0


# --- main ---------------------------------------------------------------------------

def main(argv):
    usage = (f"usage: {argv[0]} BIN_DIR {'|'.join(SCENARIOS)} | BIN_DIR up N | "
             f"BIN_DIR down")
    if len(argv) < 3:
        print(usage, file=sys.stderr)
        return EXIT_USAGE
    bin_dir, what = os.path.abspath(argv[1]), argv[2]
    if what not in SCENARIOS and what not in ("up", "down"):
        print(f"multihost: unknown scenario '{what}'\n{usage}", file=sys.stderr)
        return EXIT_USAGE
    if os.geteuid() != 0:
        print("multihost: SKIP: needs root (network namespaces)", flush=True)
        return EXIT_SKIP
    if shutil.which("ip") is None:
        print("multihost: SKIP: needs iproute2's `ip`", flush=True)
        return EXIT_SKIP
    if what == "down":
        return manual_down()
    for b in ("pbnode", "pbtracker", "pbtool", "pbcli"):
        if not os.access(os.path.join(bin_dir, b), os.X_OK):
            print(f"multihost: {bin_dir}/{b} is missing", file=sys.stderr)
            return 1
    if what == "up":
        if len(argv) != 4 or not argv[3].isdigit() or not 1 <= int(argv[3]) <= 50:
            print(f"multihost: up needs N from 1 to 50\n{usage}", file=sys.stderr)
            return EXIT_USAGE
        try:
            return manual_up(bin_dir, int(argv[3]))
        except Skip as e:
            print(f"multihost: SKIP: {e}", flush=True)
            return EXIT_SKIP
    fn, n_hosts = SCENARIOS[what]
    try:
        budget = float(os.environ.get(BUDGET_ENV, DEFAULT_BUDGET))
    except ValueError:
        budget = -1
    if budget <= 0:
        print(f"multihost: {BUDGET_ENV} must be a number of seconds > 0",
              file=sys.stderr)
        return EXIT_USAGE
    # SIGTERM (ctest, kill) runs the same cleanup as a failure.
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    net = None
    try:
        arm_budget(budget)
        net = Net(bin_dir, n_hosts)
        fn(net)
        log(f"{what}: PASS")
        return 0
    except Skip as e:
        print(f"multihost: SKIP: {e}", flush=True)
        return EXIT_SKIP
    except Fail as e:
        disarm_budget()  # no second OutOfTime while logs are dumped
        log(f"{what}: FAIL: {e}")
        if net:
            net.dump_logs()
        return 1
    except OutOfTime as e:
        disarm_budget()  # no second OutOfTime while logs are dumped
        log(f"{what}: FAIL: {e}")
        if net:
            net.dump_logs()
        return 1
    except KeyboardInterrupt:
        disarm_budget()  # no second OutOfTime while logs are dumped
        log(f"{what}: interrupted")
        return 1
    except Exception as e:  # a harness bug or an unexpected answer
        disarm_budget()  # no second OutOfTime while logs are dumped
        import traceback
        traceback.print_exc(file=sys.stdout)
        log(f"{what}: FAIL: {type(e).__name__}: {e}")
        if net:
            net.dump_logs()
        return 1
    finally:
        if net:
            net.destroy()


if __name__ == "__main__":
    sys.exit(main(sys.argv))
