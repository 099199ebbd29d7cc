//! Errors of the network lab: the step that failed, the host, the system
//! call or rtnetlink request, the errno, and what to do about it.

use std::fmt;
use std::time::Duration;

use crate::error::errno_name;

/// A step of building or running a lab, in the order a lab performs them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Step {
    /// Checking that this process runs inside an ns-test sandbox.
    CheckSandbox,
    /// Creating a host's (or the hidden switch's) network namespace.
    CreateNamespace,
    /// Opening a netlink socket in a namespace.
    OpenNetlink,
    /// Creating the veth pair that plugs a host in.
    CreateLink,
    /// Configuring a link (offloads, IPv6 autoconf, bridge port).
    ConfigureLink,
    /// Adding a host's address.
    AddAddress,
    /// Bringing a link up.
    LinkUp,
    /// Adding the permanent neighbour (ARP) entries.
    AddNeighbour,
    /// Opening the relay's packet socket and ring on a switch port.
    OpenPacketSocket,
    /// Starting the relay thread.
    StartRelay,
    /// Mounting the generated hosts file over `/etc/hosts`.
    MountHostsFile,
    /// Entering a host's network namespace (`setns`).
    EnterHost,
}

impl Step {
    /// What the step does, as a gerund phrase.
    pub fn describe(self) -> &'static str {
        match self {
            Step::CheckSandbox => "checking for an ns-test sandbox",
            Step::CreateNamespace => "creating a network namespace",
            Step::OpenNetlink => "opening an rtnetlink socket",
            Step::CreateLink => "creating a veth pair",
            Step::ConfigureLink => "configuring a link",
            Step::AddAddress => "adding an address",
            Step::LinkUp => "bringing a link up",
            Step::AddNeighbour => "adding a neighbour entry",
            Step::OpenPacketSocket => "opening the relay's packet socket",
            Step::StartRelay => "starting the relay thread",
            Step::MountHostsFile => "mounting the hosts file over /etc/hosts",
            Step::EnterHost => "entering a host's network namespace",
        }
    }
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.describe())
    }
}

/// Why a lab could not be built, or an operation on it failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// A system call failed.
    Sys {
        /// The step.
        step: Step,
        /// The host (or `"switch"`) it was for, if any.
        host: Option<String>,
        /// The call, with its salient argument: `"unshare(CLONE_NEWNET)"`.
        call: &'static str,
        /// The errno.
        errno: i32,
    },
    /// The kernel refused an rtnetlink request.
    Netlink {
        /// The step.
        step: Step,
        /// The host (or `"switch"`) it was for, if any.
        host: Option<String>,
        /// The request: `"RTM_NEWLINK veth"`.
        request: &'static str,
        /// The errno.
        errno: i32,
        /// The kernel's explanation (extended ack), when it gives one.
        message: Option<String>,
    },
    /// The process is not in a user namespace of its own: a lab would
    /// change the real host.
    NotInSandbox,
    /// No host has this name.
    UnknownHost {
        /// The name asked for.
        name: String,
        /// The lab's hosts.
        known: Vec<String>,
    },
    /// A host name is not usable.
    BadHostName {
        /// The name.
        name: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The number of hosts is out of range.
    HostCount {
        /// The number asked for.
        requested: usize,
        /// The largest number supported.
        max: usize,
    },
    /// A [`LinkConfig`](super::LinkConfig) field is out of range.
    Config {
        /// The field.
        field: &'static str,
        /// Its value.
        value: String,
        /// The valid range.
        expected: &'static str,
    },
    /// Link faults need the relay; this lab's fabric does not have one.
    NoRelay {
        /// The fabric.
        fabric: super::Fabric,
    },
    /// A wait did not end in time.
    Timeout {
        /// What was waited for.
        what: &'static str,
        /// How long.
        after: Duration,
    },
    /// The relay thread stopped.
    RelayStopped {
        /// Why.
        reason: String,
    },
}

impl Error {
    pub(crate) fn sys(step: Step, host: Option<&str>, call: &'static str, errno: i32) -> Error {
        Error::Sys {
            step,
            host: host.map(str::to_string),
            call,
            errno,
        }
    }

    pub(crate) fn io(
        step: Step,
        host: Option<&str>,
        call: &'static str,
        e: &std::io::Error,
    ) -> Error {
        Error::sys(step, host, call, e.raw_os_error().unwrap_or(nix::libc::EIO))
    }

    pub(crate) fn netlink(
        step: Step,
        host: Option<&str>,
        request: &'static str,
        r: super::netlink::Refused,
    ) -> Error {
        Error::Netlink {
            step,
            host: host.map(str::to_string),
            request,
            errno: r.errno,
            message: r.message,
        }
    }

    /// The errno, for the variants that carry one.
    pub fn errno(&self) -> Option<i32> {
        match self {
            Error::Sys { errno, .. } | Error::Netlink { errno, .. } => Some(*errno),
            _ => None,
        }
    }

    /// The failed step, for the variants that carry one.
    pub fn step(&self) -> Option<Step> {
        match self {
            Error::Sys { step, .. } | Error::Netlink { step, .. } => Some(*step),
            Error::NotInSandbox => Some(Step::CheckSandbox),
            _ => None,
        }
    }

    fn hint(&self) -> Option<&'static str> {
        match (self.step()?, self.errno()?) {
            (Step::CreateNamespace, 1) | (Step::EnterHost, 1) => Some(
                "likely cause: no CAP_SYS_ADMIN in this user namespace; \
                 fix: run the lab inside #[ns_test] (or ns_test::Sandbox)",
            ),
            (Step::CreateNamespace, 28) => Some(
                "likely cause: user.max_net_namespaces is reached; \
                 fix: raise it (sysctl user.max_net_namespaces) or use fewer hosts",
            ),
            (Step::OpenPacketSocket, 1) => {
                Some("likely cause: packet sockets need CAP_NET_RAW in the lab's user namespace")
            }
            (Step::CreateLink, 95) | (Step::CreateLink, 19) => Some(
                "likely cause: the kernel lacks veth (CONFIG_VETH) or bridge support; \
                 fix: use a kernel with CONFIG_VETH=y",
            ),
            _ => None,
        }
    }
}

fn errno_text(errno: i32) -> String {
    format!(
        "{} ({})",
        errno_name(errno),
        std::io::Error::from_raw_os_error(errno)
    )
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("netlab: ")?;
        match self {
            Error::Sys {
                step,
                host,
                call,
                errno,
            } => {
                write!(f, "{step}")?;
                if let Some(h) = host {
                    write!(f, " for {h}")?;
                }
                write!(f, ": {call} => {}", errno_text(*errno))?;
            }
            Error::Netlink {
                step,
                host,
                request,
                errno,
                message,
            } => {
                write!(f, "{step}")?;
                if let Some(h) = host {
                    write!(f, " for {h}")?;
                }
                write!(f, ": rtnetlink {request} => {}", errno_text(*errno))?;
                if let Some(m) = message {
                    write!(f, ": {m}")?;
                }
            }
            Error::NotInSandbox => f.write_str(
                "not inside an ns-test sandbox (this process is in the initial user \
                 namespace, so a lab would change the real host); \
                 fix: build the lab in a test marked #[ns_test(net)] or #[ns_test(net, mnt)]",
            )?,
            Error::UnknownHost { name, known } => write!(
                f,
                "no host named '{name}'; the hosts are: {}",
                known.join(", ")
            )?,
            Error::BadHostName { name, reason } => write!(f, "host name '{name}': {reason}")?,
            Error::HostCount { requested, max } => {
                write!(f, "{requested} hosts requested; a lab has 1 to {max}")?
            }
            Error::Config {
                field,
                value,
                expected,
            } => write!(f, "link {field} = {value}: expected {expected}")?,
            Error::NoRelay { fabric } => write!(
                f,
                "link faults need the relay, and this lab's fabric is {fabric:?}; \
                 fix: use Fabric::Relay (the default)"
            )?,
            Error::Timeout { what, after } => write!(f, "{what}: still waiting after {after:?}")?,
            Error::RelayStopped { reason } => write!(f, "the relay stopped: {reason}")?,
        }
        if let Some(h) = self.hint() {
            write!(f, "\n{h}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Error {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_step_host_call_and_errno() {
        let e = Error::sys(
            Step::CreateNamespace,
            Some("h2"),
            "unshare(CLONE_NEWNET)",
            1,
        );
        let s = e.to_string();
        assert!(
            s.starts_with(
                "netlab: creating a network namespace for h2: unshare(CLONE_NEWNET) => EPERM"
            ),
            "{s}"
        );
        assert!(s.contains("fix:"), "{s}");
        let e = Error::Netlink {
            step: Step::CreateLink,
            host: Some("h1".into()),
            request: "RTM_NEWLINK veth",
            errno: 17,
            message: Some("File exists".into()),
        };
        assert_eq!(
            e.to_string(),
            "netlab: creating a veth pair for h1: rtnetlink RTM_NEWLINK veth => EEXIST \
             (File exists (os error 17)): File exists"
        );
    }
}
