//! Owners of layered files: numbers, or user and group names resolved against the base image's
//! account databases (`/usr/lib/passwd` and `/etc/passwd`, `/usr/lib/group` and `/etc/group`,
//! as nss-altfiles reads them on CoreOS), so that a name means on the node what it means in the
//! image.
//!
//! ```
//! use okd_coreos::owners::{Accounts, Owner};
//!
//! let accounts = Accounts::parse(b"root:x:0:0::/root:/bin/bash\nchrony:x:994:991::/var/lib/chrony:/sbin/nologin\n", b"chrony:x:991:\n");
//! assert_eq!(accounts.uid(&Owner::Name("chrony".into())).unwrap(), 994);
//! assert_eq!(accounts.gid(&Owner::Id(5)).unwrap(), 5);
//! assert!(accounts.uid(&Owner::Name("nobody-here".into())).is_err());
//! ```

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use crate::file_tree::FileTree;

/// A user or group: a number, or a name looked up in the base image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Owner {
    /// A numeric id, used as it is.
    Id(u64),
    /// A name, resolved against the base's passwd or group files.
    Name(String),
}

impl FromStr for Owner {
    type Err = std::convert::Infallible;

    /// Digits are an id, anything else a name.
    fn from_str(s: &str) -> Result<Owner, Self::Err> {
        Ok(match s.parse::<u64>() {
            Ok(n) => Owner::Id(n),
            Err(_) => Owner::Name(s.to_string()),
        })
    }
}

impl fmt::Display for Owner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Owner::Id(n) => write!(f, "{n}"),
            Owner::Name(n) => f.write_str(n),
        }
    }
}

/// The users and groups of an image, by name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Accounts {
    users: BTreeMap<String, u64>,
    groups: BTreeMap<String, u64>,
}

impl Accounts {
    /// Parses passwd and group contents (`name:x:id:…` lines; comments and bad lines skipped).
    pub fn parse(passwd: &[u8], group: &[u8]) -> Accounts {
        let mut a = Accounts::default();
        a.add(passwd, group);
        a
    }

    fn add(&mut self, passwd: &[u8], group: &[u8]) {
        for (map, data) in [(&mut self.users, passwd), (&mut self.groups, group)] {
            for line in String::from_utf8_lossy(data).lines() {
                let mut fields = line.split(':');
                let (Some(name), Some(_), Some(id)) = (fields.next(), fields.next(), fields.next())
                else {
                    continue;
                };
                if name.starts_with('#') || name.is_empty() {
                    continue;
                }
                if let Ok(id) = id.parse() {
                    // The first file read wins, as nss reads /etc before /usr/lib.
                    map.entry(name.to_string()).or_insert(id);
                }
            }
        }
    }

    /// The accounts of a tree: `/etc` files first, then `/usr/lib`.
    pub fn from_tree(tree: &FileTree) -> Accounts {
        let mut a = Accounts::default();
        for dir in ["etc", "usr/lib"] {
            let passwd = tree.content(&format!("{dir}/passwd")).unwrap_or_default();
            let group = tree.content(&format!("{dir}/group")).unwrap_or_default();
            a.add(passwd, group);
        }
        a
    }

    /// The user id of `owner`, or why there is none.
    pub fn uid(&self, owner: &Owner) -> Result<u64, String> {
        look_up(&self.users, owner, "user", "passwd")
    }

    /// The group id of `owner`, or why there is none.
    pub fn gid(&self, owner: &Owner) -> Result<u64, String> {
        look_up(&self.groups, owner, "group", "group")
    }
}

fn look_up(map: &BTreeMap<String, u64>, o: &Owner, what: &str, file: &str) -> Result<u64, String> {
    match o {
        Owner::Id(n) => Ok(*n),
        Owner::Name(name) => map.get(name).copied().ok_or_else(|| {
            format!("{what} {name:?} is in neither /etc/{file} nor /usr/lib/{file} of the base")
        }),
    }
}
