//! The entries of ATT&CK: tactics, techniques, other objects and revoked ids.
//!
//! Fields are private and the constructors belong to the crate, so every value a caller
//! sees came from a loader that checked its id form.

use std::fmt;

/// Where the ATT&CK website lives; `url()` methods build on it.
const SITE: &str = "https://attack.mitre.org";

/// The kind of an ATT&CK entry, as told by the form of its id.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    /// `TA0003`
    Tactic,
    /// `T1546`
    Technique,
    /// `T1546.003`
    SubTechnique,
    /// `G0016` (STIX `intrusion-set`)
    Group,
    /// `S0005` (STIX `malware` or `tool`)
    Software,
    /// `M1040` (STIX `course-of-action`)
    Mitigation,
    /// `C0001`
    Campaign,
    /// `DS0009` (deprecated as a whole in ATT&CK v18)
    DataSource,
    /// `DC0001`
    DataComponent,
    /// `A0001` (ICS domain)
    Asset,
}

impl Kind {
    /// The upper-case letters that start ids of this kind.
    pub fn id_prefix(self) -> &'static str {
        match self {
            Kind::Tactic => "TA",
            Kind::Technique | Kind::SubTechnique => "T",
            Kind::Group => "G",
            Kind::Software => "S",
            Kind::Mitigation => "M",
            Kind::Campaign => "C",
            Kind::DataSource => "DS",
            Kind::DataComponent => "DC",
            Kind::Asset => "A",
        }
    }

    /// The kind an id has by its form (`T1546.003` → sub-technique), ignoring case;
    /// `None` when the id has no ATT&CK form.
    pub fn of_id(id: &str) -> Option<Kind> {
        let digits_at = id.find(|c: char| c.is_ascii_digit())?;
        let (prefix, number) = id.split_at(digits_at);
        const KINDS: [Kind; 9] = [
            Kind::Tactic,
            Kind::Technique,
            Kind::Group,
            Kind::Software,
            Kind::Mitigation,
            Kind::Campaign,
            Kind::DataSource,
            Kind::DataComponent,
            Kind::Asset,
        ];
        match KINDS
            .into_iter()
            .find(|k| k.id_prefix().eq_ignore_ascii_case(prefix))?
        {
            Kind::Technique => technique_kind(number),
            kind => is_digits(number, 4).then_some(kind),
        }
    }
}

/// `1546` → technique, `1546.003` → sub-technique.
fn technique_kind(number: &str) -> Option<Kind> {
    match number.split_once('.') {
        None => is_digits(number, 4).then_some(Kind::Technique),
        Some((base, sub)) => {
            (is_digits(base, 4) && is_digits(sub, 3)).then_some(Kind::SubTechnique)
        }
    }
}

fn is_digits(s: &str, len: usize) -> bool {
    s.len() == len && s.bytes().all(|b| b.is_ascii_digit())
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Kind::Tactic => "tactic",
            Kind::Technique => "technique",
            Kind::SubTechnique => "sub-technique",
            Kind::Group => "group",
            Kind::Software => "software",
            Kind::Mitigation => "mitigation",
            Kind::Campaign => "campaign",
            Kind::DataSource => "data source",
            Kind::DataComponent => "data component",
            Kind::Asset => "asset",
        })
    }
}

/// The kinds that are neither tactics nor techniques: the entries an [`AttackObject`] holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ObjectKind {
    /// `Gnnnn`
    Group,
    /// `Snnnn`
    Software,
    /// `Mnnnn`
    Mitigation,
    /// `Cnnnn`
    Campaign,
    /// `DSnnnn`
    DataSource,
    /// `DCnnnn`
    DataComponent,
    /// `Annnn`
    Asset,
}

impl ObjectKind {
    /// Every object kind, in the order the embedded table lists them.
    pub const ALL: [ObjectKind; 7] = [
        ObjectKind::Group,
        ObjectKind::Software,
        ObjectKind::Mitigation,
        ObjectKind::Campaign,
        ObjectKind::DataSource,
        ObjectKind::DataComponent,
        ObjectKind::Asset,
    ];

    /// The path of the ATT&CK website that lists objects of this kind.
    fn site_path(self) -> &'static str {
        match self {
            ObjectKind::Group => "groups",
            ObjectKind::Software => "software",
            ObjectKind::Mitigation => "mitigations",
            ObjectKind::Campaign => "campaigns",
            ObjectKind::DataSource => "datasources",
            ObjectKind::DataComponent => "datacomponents",
            ObjectKind::Asset => "assets",
        }
    }

    /// Whether the Sigma tags appendix (v2.1.0) has an `attack.` form for this kind.
    /// Campaigns and data components have none.
    pub fn has_sigma_tag(self) -> bool {
        !matches!(self, ObjectKind::Campaign | ObjectKind::DataComponent)
    }
}

impl From<ObjectKind> for Kind {
    fn from(kind: ObjectKind) -> Kind {
        match kind {
            ObjectKind::Group => Kind::Group,
            ObjectKind::Software => Kind::Software,
            ObjectKind::Mitigation => Kind::Mitigation,
            ObjectKind::Campaign => Kind::Campaign,
            ObjectKind::DataSource => Kind::DataSource,
            ObjectKind::DataComponent => Kind::DataComponent,
            ObjectKind::Asset => Kind::Asset,
        }
    }
}

impl TryFrom<Kind> for ObjectKind {
    type Error = Kind;

    /// Fails (giving the kind back) for tactics and techniques.
    fn try_from(kind: Kind) -> Result<ObjectKind, Kind> {
        Ok(match kind {
            Kind::Group => ObjectKind::Group,
            Kind::Software => ObjectKind::Software,
            Kind::Mitigation => ObjectKind::Mitigation,
            Kind::Campaign => ObjectKind::Campaign,
            Kind::DataSource => ObjectKind::DataSource,
            Kind::DataComponent => ObjectKind::DataComponent,
            Kind::Asset => ObjectKind::Asset,
            Kind::Tactic | Kind::Technique | Kind::SubTechnique => return Err(kind),
        })
    }
}

impl fmt::Display for ObjectKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        Kind::from(*self).fmt(f)
    }
}

/// Whether MITRE still maintains an entry. Revoked entries are not a status: they are
/// [`Revocation`]s, which only keep their id, name and successor.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Status {
    /// Current.
    Active,
    /// Kept for reference, no longer maintained, with no replacement.
    Deprecated,
}

/// The Sigma tag of an id: `attack.` and the id in lower case.
fn sigma_tag(id: &str) -> String {
    format!("attack.{}", id.to_ascii_lowercase())
}

/// A tactic: a column of the ATT&CK matrix (`TA0003`, `persistence`, "Persistence").
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tactic {
    id: String,
    shortname: String,
    name: String,
    order: u16,
}

impl Tactic {
    pub(crate) fn new(id: String, shortname: String, name: String, order: u16) -> Tactic {
        Tactic {
            id,
            shortname,
            name,
            order,
        }
    }

    /// The same tactic in another matrix column.
    pub(crate) fn with_order(self, order: u16) -> Tactic {
        Tactic { order, ..self }
    }

    /// The id, e.g. `TA0003`.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The short name that techniques and Sigma tags use, e.g. `privilege-escalation`.
    pub fn shortname(&self) -> &str {
        &self.shortname
    }

    /// The display name, e.g. "Privilege Escalation".
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The 1-based column of the tactic in the matrix (Reconnaissance is 1 in Enterprise).
    pub fn order(&self) -> u16 {
        self.order
    }

    /// The Sigma tag, e.g. `attack.privilege-escalation`.
    pub fn tag(&self) -> String {
        format!("attack.{}", self.shortname)
    }

    /// The page of the tactic, e.g. `https://attack.mitre.org/tactics/TA0003`.
    pub fn url(&self) -> String {
        format!("{SITE}/tactics/{}", self.id)
    }
}

/// A technique (`T1546`) or sub-technique (`T1546.003`) that is not revoked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Technique {
    id: String,
    name: String,
    status: Status,
    tactics: Vec<String>,
}

impl Technique {
    /// `id` must have the technique or sub-technique form (the loaders check it).
    pub(crate) fn new(id: String, name: String, status: Status, tactics: Vec<String>) -> Technique {
        Technique {
            id,
            name,
            status,
            tactics,
        }
    }

    /// The id, e.g. `T1546.003`.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The name, e.g. "Windows Management Instrumentation Event Subscription". A
    /// sub-technique's name does not repeat its parent's.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Active or deprecated.
    pub fn status(&self) -> Status {
        self.status
    }

    /// Whether this is a sub-technique (its id has a `.nnn` part).
    pub fn is_subtechnique(&self) -> bool {
        self.parent_id().is_some()
    }

    /// [`Kind::Technique`] or [`Kind::SubTechnique`].
    pub fn kind(&self) -> Kind {
        if self.is_subtechnique() {
            Kind::SubTechnique
        } else {
            Kind::Technique
        }
    }

    /// The parent technique of a sub-technique (`T1546` for `T1546.003`).
    pub fn parent_id(&self) -> Option<&str> {
        self.id.split_once('.').map(|(parent, _)| parent)
    }

    /// The shortnames of the tactics the technique serves, in MITRE's order
    /// (`privilege-escalation`, `persistence` for T1546.003).
    /// [`AttackData::tactics_of`](crate::AttackData::tactics_of) gives the tactics themselves.
    pub fn tactic_shortnames(&self) -> impl ExactSizeIterator<Item = &str> {
        self.tactics.iter().map(String::as_str)
    }

    /// The Sigma tag, e.g. `attack.t1546.003`.
    pub fn tag(&self) -> String {
        sigma_tag(&self.id)
    }

    /// The page of the technique, e.g. `https://attack.mitre.org/techniques/T1546/003`.
    pub fn url(&self) -> String {
        format!("{SITE}/techniques/{}", self.id.replace('.', "/"))
    }
}

/// A group, software, mitigation, campaign, data source, data component or asset.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AttackObject {
    kind: ObjectKind,
    id: String,
    name: String,
    status: Status,
}

impl AttackObject {
    /// `id` must have the form of `kind` (the loaders check it).
    pub(crate) fn new(kind: ObjectKind, id: String, name: String, status: Status) -> AttackObject {
        AttackObject {
            kind,
            id,
            name,
            status,
        }
    }

    /// What the object is.
    pub fn kind(&self) -> ObjectKind {
        self.kind
    }

    /// The id, e.g. `G0016`.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The name, e.g. "APT29".
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Active or deprecated.
    pub fn status(&self) -> Status {
        self.status
    }

    /// The Sigma tag (`attack.g0016`), or `None` for the kinds Sigma has no tag for.
    pub fn tag(&self) -> Option<String> {
        self.kind.has_sigma_tag().then(|| sigma_tag(&self.id))
    }

    /// The page of the object, e.g. `https://attack.mitre.org/groups/G0016`.
    pub fn url(&self) -> String {
        format!("{SITE}/{}/{}", self.kind.site_path(), self.id)
    }
}

/// An id that MITRE revoked: the entry was merged into or replaced by another one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Revocation {
    kind: Kind,
    id: String,
    name: String,
    successor: Option<Successor>,
}

/// Where a revoked id leads. Private so that a replacement can only exist with the
/// `revoked-by` target it was reached from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Successor {
    /// The direct `revoked-by` target.
    pub(crate) revoked_by: String,
    /// The end of the revoked-by chain, when the data holds the whole chain.
    pub(crate) replacement: Option<String>,
}

impl Revocation {
    /// `id` must have the form of `kind` (the loaders check it).
    pub(crate) fn new(
        kind: Kind,
        id: String,
        name: String,
        successor: Option<Successor>,
    ) -> Revocation {
        Revocation {
            kind,
            id,
            name,
            successor,
        }
    }

    /// The revoked id, e.g. `T1084`.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The kind of the revoked entry.
    pub fn kind(&self) -> Kind {
        self.kind
    }

    /// The name the entry had.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The id named by MITRE's `revoked-by` relationship (`T1574.002` for T1073). Always
    /// known in the embedded data; a STIX bundle may lack the relationship.
    pub fn revoked_by(&self) -> Option<&str> {
        self.successor.as_ref().map(|s| s.revoked_by.as_str())
    }

    /// The id to use instead: the end of the chain of `revoked-by` relationships, itself not
    /// revoked (`T1574.001` for T1073, which was revoked by the since-revoked T1574.002).
    /// Always known in the embedded data; `None` when a STIX bundle lacks part of the chain.
    pub fn replacement(&self) -> Option<&str> {
        self.successor
            .as_ref()
            .and_then(|s| s.replacement.as_deref())
    }

    /// The Sigma tag of the replacement, e.g. `attack.t1546.003` for T1084.
    pub fn replacement_tag(&self) -> Option<String> {
        self.replacement().map(sigma_tag)
    }
}

/// Any entry found by id.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Entry<'a> {
    /// A tactic.
    Tactic(&'a Tactic),
    /// A technique or sub-technique, active or deprecated.
    Technique(&'a Technique),
    /// A group, software, mitigation, …, active or deprecated.
    Object(&'a AttackObject),
    /// A revoked id.
    Revoked(&'a Revocation),
}

impl<'a> Entry<'a> {
    /// The id of the entry.
    pub fn id(&self) -> &'a str {
        match self {
            Entry::Tactic(t) => t.id(),
            Entry::Technique(t) => t.id(),
            Entry::Object(o) => o.id(),
            Entry::Revoked(r) => r.id(),
        }
    }

    /// The name of the entry.
    pub fn name(&self) -> &'a str {
        match self {
            Entry::Tactic(t) => t.name(),
            Entry::Technique(t) => t.name(),
            Entry::Object(o) => o.name(),
            Entry::Revoked(r) => r.name(),
        }
    }
}
