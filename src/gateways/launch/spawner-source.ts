/**
 * The spawner: a small Python process that starts CGI scripts with posix_spawn (vfork-like,
 * so its cost does not grow with the server's memory, and the server's event loop never
 * waits for an exec). It runs as the user scripts run as, so it holds no privileges itself.
 *
 * Protocol. The server first writes a random token to the spawner's stdin, then a space and
 * a cgroup folder when it has made one (see below), and a newline.
 * Then it connects to the spawner's Unix socket once or twice per script run;
 * each connection starts with a 4-byte big-endian length and a JSON header:
 *   {"token", "id": N, "role": "in"}                      the script's stdin (sent first, only with a body)
 *   {"token", "id": N, "role": "out", "file", "args", "env", "cwd"}   the script's stdout; starts the run
 * A header without the token is dropped: scripts run as the spawner's user and could reach its socket.
 * The spawner reports on its stdout in frames "KIND ID LENGTH\n" + LENGTH bytes:
 *   R ready · S started ("pid" or "pid cgroup") · E stderr bytes · Z stderr closed · X exited ("code signal") · F failed (errno name).
 * The script's stdin and stdout are the connections themselves; stderr is relayed in E frames.
 *
 * What a script starts. Given a cgroup folder (argv[2], delegated to the spawner's user by the
 * server, which has moved the spawner into it), each run starts inside a cgroup of its own,
 * r<ID> in that folder: the spawner moves itself into it for the posix_spawn and back, so the
 * script never runs outside it. The server kills a run with its cgroup.kill, and at the end of
 * the run; the spawner removes the cgroup once it is empty. Without one, the spawner is a child
 * subreaper, so orphans of its scripts come back to it rather than to init, and the server
 * kills a run by its tree and session (descendants.ts). Either way, when the server goes
 * (its end of stdin closes), the spawner kills every script it started, and what they left.
 */
export const SPAWNER_SOURCE = String.raw`
import errno, hmac, json, os, selectors, signal, socket, struct, sys

if sys.version_info < (3, 8):
    sys.exit(3)

out = sys.stdout.buffer

# Frames wait here until the end of the select round: one write (and one wake-up of the
# server) for everything a round produced, rather than one per frame.
pending = []

def send(kind, ident, payload=b''):
    pending.append(b'%s %d %d\n' % (kind, ident, len(payload)) + payload)

def flush():
    if not pending:
        return
    data = b''.join(pending)
    pending.clear()
    try:
        out.write(data)
        out.flush()
    except BrokenPipeError:
        # The server is gone; so is the reason to exist.
        cleanup()
        os._exit(0)

def cleanup():
    try:
        os.unlink(sys.argv[1])
        os.rmdir(os.path.dirname(sys.argv[1]))
    except OSError:
        pass

def recv_exact(conn, size):
    data = b''
    while len(data) < size:
        part = conn.recv(size - len(data))
        if not part:
            raise EOFError('connection closed inside its header')
        data += part
    return data

def read_header(conn):
    # The header has nearly always arrived with the connection: peeking at it without
    # waiting spares the time limit's system calls (non-blocking mode on and off, a poll per read).
    try:
        head = conn.recv(16384, socket.MSG_PEEK | socket.MSG_DONTWAIT)
    except BlockingIOError:
        head = b''
    if len(head) >= 4:
        size = struct.unpack('>I', head[:4])[0]
        if len(head) >= 4 + size:
            return json.loads(recv_exact(conn, 4 + size)[4:])
    conn.settimeout(10)
    size = struct.unpack('>I', recv_exact(conn, 4))[0]
    header = json.loads(recv_exact(conn, size))
    conn.settimeout(None)
    return header

def read_token():
    data = b''
    while not data.endswith(b'\n'):
        part = os.read(0, 256)
        if not part:
            sys.exit(0)
        data += part
    return data.strip()

def prctl(*args):
    try:
        import ctypes
        ctypes.CDLL(None, use_errno=True).prctl(*args)
    except (OSError, AttributeError):
        pass

def not_dumpable():
    # Scripts run as this process's user: without this, one could take this process's
    # descriptors (pidfd_getfd, ptrace) and write reports to the server in its name.
    prctl(4, 0, 0, 0, 0)  # PR_SET_DUMPABLE, 0

folder = ''
# Run cgroups that still held something when their script exited: removed once empty.
lingering = set()

def move_to(path):
    with open(os.path.join(path, 'cgroup.procs'), 'w') as procs:
        procs.write(str(os.getpid()))

def leave(cgroup):
    try:
        move_to(folder)
    except OSError:
        # Left inside, the spawner would die with the run: better to go now, and be replaced.
        cleanup()
        os._exit(1)

def run_cgroup(ident):
    if not folder:
        return None
    path = os.path.join(folder, 'r%d' % ident)
    try:
        os.mkdir(path)
        move_to(path)
        return path
    except OSError:
        try:
            os.rmdir(path)
        except OSError:
            pass
        return None

def drop_cgroups():
    for path in list(lingering):
        try:
            os.rmdir(path)
            lingering.discard(path)
        except OSError:
            pass

def children():
    mine, found = os.getpid(), []
    for name in os.listdir('/proc'):
        if name.isdigit():
            try:
                with open('/proc/%s/stat' % name, 'rb') as stat:
                    fields = stat.read().rsplit(b')', 1)[1].split()
                if int(fields[1]) == mine:
                    found.append(int(name))
            except (OSError, IndexError, ValueError):
                pass
    return found

def kill_everything(runs):
    # The server is gone: nobody is left to read the scripts' output or to end them.
    if folder:
        try:
            names = os.listdir(folder)
        except OSError:
            names = []
        for name in names:
            if name.startswith('r'):
                try:
                    with open(os.path.join(folder, name, 'cgroup.kill'), 'w') as kill:
                        kill.write('1')
                except OSError:
                    pass
    for pid in list(runs) + children():
        for target in (-pid, pid):
            try:
                os.kill(target, signal.SIGKILL)
            except OSError:
                pass

def main(path):
    global folder
    not_dumpable()
    token, _, folder = read_token().partition(b' ')
    folder = folder.decode()
    if not folder:
        prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(1024)
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_r, False)
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    selector = selectors.DefaultSelector()
    selector.register(listener, selectors.EVENT_READ, 'accept')
    selector.register(wake_r, selectors.EVENT_READ, 'child')
    selector.register(0, selectors.EVENT_READ, 'parent')
    inputs = {}
    runs = {}
    send(b'R', 0)
    while True:
        flush()
        if lingering:
            drop_cgroups()
        for key, _ in selector.select(0.2 if lingering else None):
            what = key.data
            if what == 'parent':
                if not os.read(0, 4096):
                    kill_everything(runs)
                    cleanup()
                    return
            elif what == 'accept':
                conn, _ = listener.accept()
                # Reading the header may block (up to its time limit): what is already due goes first.
                flush()
                try:
                    header = read_header(conn)
                except (OSError, ValueError, EOFError):
                    conn.close()
                    continue
                if not isinstance(header, dict) or not hmac.compare_digest(str(header.get('token', '')).encode(), token):
                    conn.close()
                    continue
                ident = int(header['id'])
                if header.get('role') == 'in':
                    inputs[ident] = conn
                    continue
                start(conn, header, ident, inputs.pop(ident, None), selector, runs)
            elif what == 'child':
                try:
                    while os.read(wake_r, 4096):
                        pass
                except BlockingIOError:
                    pass
                reap(runs)
            else:
                data = os.read(key.fd, 65536)
                if data:
                    send(b'E', what, data)
                else:
                    selector.unregister(key.fd)
                    os.close(key.fd)
                    send(b'Z', what)

def start(conn, header, ident, stdin, selector, runs):
    err_r, err_w = os.pipe()
    actions = [(os.POSIX_SPAWN_DUP2, conn.fileno(), 1), (os.POSIX_SPAWN_DUP2, err_w, 2)]
    if stdin is None:
        actions.insert(0, (os.POSIX_SPAWN_OPEN, 0, '/dev/null', os.O_RDONLY, 0))
    else:
        actions.insert(0, (os.POSIX_SPAWN_DUP2, stdin.fileno(), 0))
    cgroup = run_cgroup(ident)
    try:
        os.chdir(header['cwd'])
        argv = [header['file']] + list(header['args'])
        try:
            pid = os.posix_spawn(header['file'], argv, header['env'], file_actions=actions, setsid=True)
        except OSError as error:
            if error.errno != errno.ENOEXEC:
                raise
            # What execvp does, and so Node's spawn: a file without #! is a shell script.
            pid = os.posix_spawn('/bin/sh', ['/bin/sh'] + argv, header['env'], file_actions=actions, setsid=True)
    except Exception as error:
        os.close(err_r)
        if cgroup:
            lingering.add(cgroup)
        code = errno.errorcode.get(getattr(error, 'errno', None) or 0, 'EINVAL')
        send(b'F', ident, code.encode())
        return
    finally:
        if cgroup:
            leave(cgroup)
        os.close(err_w)
        conn.close()
        if stdin is not None:
            stdin.close()
    runs[pid] = (ident, cgroup)
    selector.register(err_r, selectors.EVENT_READ, ident)
    send(b'S', ident, ('%d %s' % (pid, os.path.basename(cgroup)) if cgroup else str(pid)).encode())

def reap(runs):
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        run = runs.pop(pid, None)
        if run is None:
            continue
        ident, cgroup = run
        if cgroup:
            # Removed once empty: at once (before the exit is reported, so that the server
            # finds nothing to kill), or once the server has killed what is left.
            try:
                os.rmdir(cgroup)
            except OSError:
                lingering.add(cgroup)
        code = os.WEXITSTATUS(status) if os.WIFEXITED(status) else -1
        sig = os.WTERMSIG(status) if os.WIFSIGNALED(status) else 0
        send(b'X', ident, b'%d %d' % (code, sig))

main(sys.argv[1])
`;
