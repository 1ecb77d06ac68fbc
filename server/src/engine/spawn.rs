//! Starting a module's program in one exec: as `posix_spawn` does (the child shares the
//! server's memory and the server waits the moment until it has exec'd), plus what
//! `posix_spawn` cannot do, the parent-death signal, so that a killed node leaves no module
//! running unseen. Before, `setpriv --pdeathsig KILL` did that at the cost of a second program
//! per run (which held the `exec` driver to 58 % of what this machine can fork); a `pre_exec`
//! hook would make the standard library copy the whole server with `fork` instead.
//!
//! The child, between the clone and the exec, only makes system calls on memory prepared
//! beforehand: its own process group, the death signal, every signal's default disposition
//! and none blocked (as a program started by `std::process::Command` gets, except that signals
//! the server ignores are not ignored by the module), its standard streams, then `execve`. Its
//! end is waited for on a pidfd: no SIGCHLD handler is involved.
//!
//! The death signal follows the *thread* that started the module: modules are started from
//! the runtime's worker threads, which live as long as the server (never from
//! `spawn_blocking`, whose idle threads end and would take their modules with them).
//!
//! This is the one module of the workspace with `unsafe` code (the lint denies it everywhere
//! else): each block says why it is sound.
#![allow(unsafe_code)]

use std::ffi::{c_int, c_void, CString};
use std::io;
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::process::ExitStatusExt;
use std::process::ExitStatus;

use rustix::process::{Pid, Signal, WaitId, WaitIdOptions};
use tokio::io::unix::AsyncFd;
use tokio::net::unix::pipe::Receiver;

/// What to run: the program's path, its arguments (the program's name first) and its whole
/// environment, as `NAME=value`.
pub struct Program {
    path: CString,
    argv: Vec<CString>,
    envp: Vec<CString>,
}

impl Program {
    /// `program` (a path, or a name looked up in `search_path`) with `args` and `env`. Fails
    /// on a NUL byte anywhere, or a name found nowhere.
    pub fn new<'a>(
        program: &str,
        args: impl IntoIterator<Item = &'a str>,
        env: impl IntoIterator<Item = (&'a str, &'a str)>,
        search_path: &str,
    ) -> io::Result<Program> {
        let path = resolve(program, search_path)?;
        let mut argv = vec![cstring(program)?];
        for arg in args {
            argv.push(cstring(arg)?);
        }
        let envp = env
            .into_iter()
            .map(|(name, value)| cstring(&format!("{name}={value}")))
            .collect::<io::Result<Vec<_>>>()?;
        Ok(Program {
            path: cstring(&path)?,
            argv,
            envp,
        })
    }
}

fn cstring(text: &str) -> io::Result<CString> {
    CString::new(text).map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "a NUL byte"))
}

/// The path `execve` is given: `program` itself when it names a path, else the first
/// executable of that name in `search_path` (as the child's `PATH` would find it).
fn resolve(program: &str, search_path: &str) -> io::Result<String> {
    if program.contains('/') {
        return Ok(program.to_owned());
    }
    use std::os::unix::fs::PermissionsExt;
    search_path
        .split(':')
        .filter(|dir| !dir.is_empty())
        .map(|dir| format!("{dir}/{program}"))
        .find(|path| {
            std::fs::metadata(path)
                .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
        .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "no such program in PATH"))
}

/// A started program: its process (the leader of a process group of its own), its output
/// pipes, and the pidfd its end is waited for on. Once ended it stays a zombie until the
/// `Child` is dropped, so that its pid, which is its group's id, cannot go to another process
/// while the driver may still signal the group. Dropped before it ended, it is killed (with
/// its group) and reaped.
pub struct Child {
    pid: Pid,
    pidfd: Option<AsyncFd<OwnedFd>>,
    /// Its standard output and error, until taken.
    pub stdout: Option<Receiver>,
    pub stderr: Option<Receiver>,
    status: Option<ExitStatus>,
}

impl Child {
    /// Its process id, which is also its process group's.
    pub fn id(&self) -> u32 {
        self.pid.as_raw_nonzero().get() as u32
    }

    /// Waits for it to end (once ended, says again how), leaving it unreaped.
    pub async fn wait(&mut self) -> io::Result<ExitStatus> {
        if let Some(status) = self.status {
            return Ok(status);
        }
        let Some(pidfd) = &self.pidfd else {
            return Err(io::Error::other("the module's process is not ours"));
        };
        loop {
            let mut ready = pidfd.readable().await?;
            match rustix::process::waitid(
                WaitId::PidFd(pidfd.get_ref().as_fd()),
                WaitIdOptions::EXITED | WaitIdOptions::NOHANG | WaitIdOptions::NOWAIT,
            ) {
                Ok(Some(info)) if info.exited() || info.killed() || info.dumped() => {
                    let raw = match info.terminating_signal() {
                        Some(signal) => signal | if info.dumped() { 0x80 } else { 0 },
                        None => (info.exit_status().unwrap_or(0) & 0xff) << 8,
                    };
                    let status = ExitStatus::from_raw(raw);
                    self.status = Some(status);
                    return Ok(status);
                }
                Ok(_) => ready.clear_ready(),
                Err(error) => return Err(error.into()),
            }
        }
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        if self.status.is_some() {
            // Ended: reaping a zombie does not wait.
            if let Some(pidfd) = self.pidfd.take() {
                let _ = rustix::process::waitid(
                    WaitId::PidFd(pidfd.get_ref().as_fd()),
                    WaitIdOptions::EXITED,
                );
            }
            return;
        }
        let _ = rustix::process::kill_process_group(self.pid, Signal::KILL);
        let pid = self.pid;
        let pidfd = self.pidfd.take().map(AsyncFd::into_inner);
        if let Some(pidfd) = &pidfd {
            // The leader too, should it have left its group.
            let _ = rustix::process::pidfd_send_signal(pidfd, Signal::KILL);
        }
        // Reaped where waiting holds nothing up (SIGKILL ends it at once); a thread that cannot
        // be made leaves a zombie rather than a panic in a drop.
        let _ = std::thread::Builder::new()
            .name("billops-reap".into())
            .spawn(move || {
                let reaped = pidfd.is_some_and(|pidfd| {
                    rustix::process::waitid(WaitId::PidFd(pidfd.as_fd()), WaitIdOptions::EXITED)
                        .is_ok()
                });
                if !reaped {
                    let _ =
                        rustix::process::waitpid(Some(pid), rustix::process::WaitOptions::empty());
                }
            });
    }
}

/// The child's instructions, prepared by the parent: the child reads them and, if its exec
/// fails, writes the error number back (the memory is shared).
struct ChildSetup {
    path: *const libc::c_char,
    argv: *const *const libc::c_char,
    envp: *const *const libc::c_char,
    stdin: RawFd,
    stdout: RawFd,
    stderr: RawFd,
    parent: libc::pid_t,
    /// The starting thread's signal mask, restored in it after the clone.
    mask: libc::sigset_t,
    /// The module's: nothing blocked.
    empty_mask: libc::sigset_t,
    last_signal: c_int,
    errno: c_int,
}

/// Starts `program` with standard input from `/dev/null` and its output piped, in a process
/// group of its own, killed with SIGKILL when the thread that started it ends (with its node).
pub fn spawn(program: &Program) -> io::Result<Child> {
    let devnull = dev_null()?;
    let (stdout_read, stdout_write) = pipe()?;
    let (stderr_read, stderr_write) = pipe()?;
    // A server started with a standard stream closed may get 0, 1 or 2 for these: dup'ed in
    // turn onto 0, 1 and 2, one would overwrite another.
    let (stdout_write, stderr_write) = (above_stdio(stdout_write)?, above_stdio(stderr_write)?);
    let argv = null_terminated(&program.argv);
    let envp = null_terminated(&program.envp);
    let mut setup = ChildSetup {
        path: program.path.as_ptr(),
        argv: argv.as_ptr(),
        envp: envp.as_ptr(),
        stdin: devnull,
        stdout: stdout_write.as_raw_fd(),
        stderr: stderr_write.as_raw_fd(),
        // SAFETY: getpid has no preconditions.
        parent: unsafe { libc::getpid() },
        // SAFETY: an all-zero sigset_t is a valid value, filled in below.
        mask: unsafe { std::mem::zeroed() },
        // SAFETY: as above; sigemptyset below makes it the empty set.
        empty_mask: unsafe { std::mem::zeroed() },
        last_signal: libc::SIGRTMAX(),
        errno: 0,
    };
    // SAFETY: sigemptyset initialises the set it is given.
    unsafe { libc::sigemptyset(&mut setup.empty_mask) };
    // The child runs on this stack until its exec; it needs little.
    let mut stack = vec![0_u8; 64 * 1024];
    // SAFETY: the stack's end, aligned down to 16 bytes as the ABI wants (stacks grow down).
    let top = unsafe { stack.as_mut_ptr().add(stack.len()) };
    let top = (top as usize & !15) as *mut c_void;
    // SAFETY: signals are blocked across the clone (a handler of the server must not run in
    // the child, which shares its memory) and restored after; `child` only makes system calls
    // on `setup`, which outlives the clone: with CLONE_VFORK this thread waits until the child
    // has exec'd or exited.
    let pid = unsafe {
        let mut all: libc::sigset_t = std::mem::zeroed();
        libc::sigfillset(&mut all);
        libc::pthread_sigmask(libc::SIG_SETMASK, &all, &mut setup.mask);
        let pid = libc::clone(
            child,
            top,
            libc::CLONE_VM | libc::CLONE_VFORK | libc::SIGCHLD,
            &mut setup as *mut ChildSetup as *mut c_void,
        );
        let error = io::Error::last_os_error();
        libc::pthread_sigmask(libc::SIG_SETMASK, &setup.mask, std::ptr::null_mut());
        if pid < 0 {
            return Err(error);
        }
        pid
    };
    drop(stack);
    drop((stdout_write, stderr_write));
    let pid = Pid::from_raw(pid).ok_or_else(|| io::Error::other("clone gave no pid"))?;
    // SAFETY: written by the child before it exited, read after the clone returned.
    let errno = unsafe { std::ptr::read_volatile(&setup.errno) };
    if errno != 0 {
        let _ = rustix::process::waitpid(Some(pid), rustix::process::WaitOptions::empty());
        return Err(io::Error::from_raw_os_error(errno));
    }
    let mut started = Child {
        pid,
        pidfd: None,
        stdout: None,
        stderr: None,
        status: None,
    };
    // From here on, an error drops `started`: the child is killed and reaped.
    let pidfd = rustix::process::pidfd_open(pid, rustix::process::PidfdFlags::empty())?;
    // SAFETY: the descriptor is owned (an OwnedFd), so it stays open while registered.
    let pidfd = unsafe { AsyncFd::register_with_interest(pidfd, tokio::io::Interest::READABLE) }
        .map_err(io::Error::from)?;
    started.pidfd = Some(pidfd);
    started.stdout = Some(Receiver::from_owned_fd(stdout_read)?);
    started.stderr = Some(Receiver::from_owned_fd(stderr_read)?);
    Ok(started)
}

/// The pointers `execve` takes: each string's, then a null one.
fn null_terminated(strings: &[CString]) -> Vec<*const libc::c_char> {
    strings
        .iter()
        .map(|s| s.as_ptr())
        .chain(std::iter::once(std::ptr::null()))
        .collect()
}

/// `/dev/null`, opened once (close-on-exec: only what it is dup'ed onto reaches a module).
fn dev_null() -> io::Result<RawFd> {
    static DEV_NULL: std::sync::OnceLock<std::fs::File> = std::sync::OnceLock::new();
    if let Some(file) = DEV_NULL.get() {
        return Ok(file.as_raw_fd());
    }
    let file = std::fs::File::from(above_stdio(std::fs::File::open("/dev/null")?.into())?);
    Ok(DEV_NULL.get_or_init(|| file).as_raw_fd())
}

/// `fd`, or a copy of it numbered 3 or more (close-on-exec, as `fd` is) if it is 0, 1 or 2.
fn above_stdio(fd: OwnedFd) -> io::Result<OwnedFd> {
    if fd.as_raw_fd() > 2 {
        return Ok(fd);
    }
    // SAFETY: F_DUPFD_CLOEXEC makes a new descriptor, owned by nothing else; `fd` is closed
    // when dropped.
    let copy = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_DUPFD_CLOEXEC, 3) };
    if copy < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: as above.
    Ok(unsafe { OwnedFd::from_raw_fd(copy) })
}

/// A pipe whose ends are closed on exec (the child's ends are dup'ed onto 1 and 2, which are not).
fn pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0 as c_int; 2];
    // SAFETY: pipe2 writes two descriptors into the array it is given.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: both descriptors were just opened, and are owned by nothing else.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

/// The child, from the clone to the exec: system calls only, on `ChildSetup`.
extern "C" fn child(arg: *mut c_void) -> c_int {
    // SAFETY: `arg` is the parent's ChildSetup, alive until this exec's or exits (CLONE_VFORK).
    unsafe {
        let setup = &mut *(arg as *mut ChildSetup);
        // Every signal as it is by default (the server's handlers are its own; SIGPIPE, which
        // Rust ignores, kills a module as it would any program). Blocked until the exec.
        for signal in 1..=setup.last_signal {
            if signal != libc::SIGKILL && signal != libc::SIGSTOP {
                libc::signal(signal, libc::SIG_DFL);
            }
        }
        if libc::setpgid(0, 0) != 0
            || libc::prctl(
                libc::PR_SET_PDEATHSIG,
                libc::SIGKILL as libc::c_ulong,
                0,
                0,
                0,
            ) != 0
        {
            return fail(setup);
        }
        // The node died before the death signal was set: nobody is left to wait for the module.
        if libc::getppid() != setup.parent {
            libc::_exit(127);
        }
        // Every source is 3 or more (`above_stdio`): none is overwritten before it is copied.
        for (from, to) in [(setup.stdin, 0), (setup.stdout, 1), (setup.stderr, 2)] {
            if libc::dup2(from, to) < 0 {
                return fail(setup);
            }
        }
        libc::pthread_sigmask(libc::SIG_SETMASK, &setup.empty_mask, std::ptr::null_mut());
        libc::execve(setup.path, setup.argv, setup.envp);
        fail(setup)
    }
}

/// Tells the parent why the child could not exec, and ends the child.
///
/// # Safety
/// Only from the child, with `setup` the parent's.
unsafe fn fail(setup: &mut ChildSetup) -> c_int {
    std::ptr::write_volatile(&mut setup.errno, *libc::__errno_location());
    libc::_exit(127)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncReadExt;

    fn program(path: &str, args: &[&str]) -> Program {
        Program::new(
            path,
            args.iter().copied(),
            [("PATH", "/usr/bin:/bin")],
            "/usr/bin:/bin",
        )
        .expect("program")
    }

    async fn output(child: &mut Child) -> (String, String) {
        let mut out = String::new();
        let mut err = String::new();
        child
            .stdout
            .take()
            .unwrap()
            .read_to_string(&mut out)
            .await
            .unwrap();
        child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut err)
            .await
            .unwrap();
        (out, err)
    }

    #[tokio::test]
    async fn a_program_gets_its_arguments_and_environment_and_its_status_is_kept() {
        let mut child = spawn(&program(
            "sh",
            &["-c", "echo \"$0 $1 $PATH\"; echo oops >&2; exit 3", "a b"],
        ))
        .unwrap();
        let (out, err) = output(&mut child).await;
        let status = child.wait().await.unwrap();
        assert_eq!(out, "a b  /usr/bin:/bin\n");
        assert_eq!(err, "oops\n");
        assert_eq!(status.code(), Some(3));
        assert_eq!(child.wait().await.unwrap().code(), Some(3), "asked again");
        // Ended but kept (its pid is its group's id) until dropped; then reaped.
        let proc = std::path::PathBuf::from(format!("/proc/{}", child.id()));
        assert!(
            proc.exists(),
            "reaped while its group could still be signalled"
        );
        drop(child);
        assert!(!proc.exists(), "not reaped when dropped");
    }

    #[tokio::test]
    async fn a_program_leads_its_own_process_group_and_a_signal_is_its_end() {
        let mut child = spawn(&program(
            "sh",
            &[
                "-c",
                "read _ _ _ _ group _ < /proc/$$/stat; echo $group; kill -TERM $$",
            ],
        ))
        .unwrap();
        let (out, _) = output(&mut child).await;
        assert_eq!(out.trim(), child.id().to_string());
        let status = child.wait().await.unwrap();
        assert_eq!(status.signal(), Some(libc::SIGTERM));
    }

    #[tokio::test]
    async fn a_program_starts_with_no_signal_blocked_or_ignored() {
        // The test harness, like the server, ignores SIGPIPE; block one more signal here to see
        // the module start without it.
        // SAFETY: a valid set, filled before use, for this thread's own mask.
        unsafe {
            let mut set: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut set);
            libc::sigaddset(&mut set, libc::SIGUSR1);
            libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
        }
        let mut child = spawn(&program(
            "grep",
            &["-E", "^Sig(Blk|Ign)", "/proc/self/status"],
        ))
        .unwrap();
        let (out, _) = output(&mut child).await;
        assert!(child.wait().await.unwrap().success());
        let mask = |name: &str| {
            out.lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|hex| u64::from_str_radix(hex.trim(), 16).ok())
                .expect(name)
        };
        assert_eq!(mask("SigBlk:"), 0, "{out}");
        // Signals 32 and 33 are the C library's own: posix_spawn leaves them ignored, and only
        // it may change them.
        let glibc_internal = 0b11 << 31;
        assert_eq!(mask("SigIgn:") & !glibc_internal, 0, "{out}");
    }

    #[tokio::test]
    async fn a_program_that_cannot_start_is_an_error_not_a_child() {
        let missing = spawn(&program("/nonexistent/module", &[])).err().unwrap();
        assert_eq!(missing.kind(), io::ErrorKind::NotFound);
        let not_executable = spawn(&program("/dev/null", &[])).err().unwrap();
        assert_eq!(not_executable.kind(), io::ErrorKind::PermissionDenied);
        assert!(Program::new("no-such-module-anywhere", [], [], "/usr/bin:/bin").is_err());
        assert!(Program::new("/bin/sh", ["a\0b"], [], "").is_err());
    }

    #[test]
    fn a_program_dies_with_the_thread_that_started_it() {
        // The node's death, in small: the thread that started the module ends, without waiting
        // for it or killing it, and the module (which would sleep 5 s) gets SIGKILL.
        let pid = std::thread::spawn(|| {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async {
                let child = spawn(&program("sleep", &["5"])).unwrap();
                let pid = child.id();
                // Neither killed nor reaped by us: only the death signal ends it.
                std::mem::forget(child);
                pid
            })
        })
        .join()
        .unwrap();
        let pid = Pid::from_raw(pid as i32).unwrap();
        let info = rustix::process::waitid(WaitId::Pid(pid), WaitIdOptions::EXITED)
            .unwrap()
            .expect("ended");
        assert_eq!(info.terminating_signal(), Some(libc::SIGKILL));
    }

    #[tokio::test]
    async fn a_child_dropped_unwaited_is_killed_with_its_group() {
        let mut child = spawn(&program("sh", &["-c", "sleep 60 & echo $!; wait"])).unwrap();
        let mut line = [0_u8; 32];
        let n = child
            .stdout
            .as_mut()
            .unwrap()
            .read(&mut line)
            .await
            .unwrap();
        let grandchild: i32 = std::str::from_utf8(&line[..n])
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        let leader = child.id();
        drop(child);
        let reaped = (0..200).any(|_| {
            std::thread::sleep(std::time::Duration::from_millis(10));
            !std::path::Path::new(&format!("/proc/{leader}")).exists()
        });
        assert!(reaped, "the dropped module was not reaped");
        let gone = (0..200).any(|_| {
            std::thread::sleep(std::time::Duration::from_millis(10));
            // A zombie still answers kill 0: gone means reaped by its new parent, or a zombie.
            std::fs::read_to_string(format!("/proc/{grandchild}/stat"))
                .map_or(true, |stat| stat.split(' ').nth(2) == Some("Z"))
        });
        assert!(gone, "the module's background child outlived it");
    }
}
