//! Resolution: which sources serve a rule's logsource, and what its fields are called there.

use std::borrow::Cow;

use crate::logsource::{LogSource, LogsourcePattern};
use crate::model::{ConditionSet, Pipeline, Source, TargetInfo, ValueTransform};
use crate::parse::NAME_PLACEHOLDER;

/// The outcome of resolving one rule's logsource against a pipeline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolution<'p> {
    /// The rule runs once per variant (e.g. Sysmon 1 and Security 4688 for
    /// `process_creation`), in pipeline order; never empty.
    Mapped(Vec<SourceVariant<'p>>),
    /// No source applies; `reason` names the pipeline and the logsource.
    Unmapped {
        /// E.g. `no source in pipeline 'windows' for logsource product=linux category=process_creation`.
        reason: String,
    },
}

impl Pipeline {
    /// Resolves a rule's logsource.
    ///
    /// A source applies when every logsource key it names is satisfied by the rule
    /// (`key: value` equal ignoring ASCII case, `key: null` absent from the rule). Among the
    /// sources that apply, only those naming the most keys are kept; ties are all kept.
    pub fn resolve(&self, logsource: &LogSource<'_>) -> Resolution<'_> {
        let mut best = 0;
        let mut variants = Vec::new();
        for source in &self.sources {
            if !source.logsource.applies_to(logsource) {
                continue;
            }
            let specificity = source.logsource.specificity();
            if specificity > best {
                best = specificity;
                variants.clear();
            }
            if specificity == best {
                variants.push(SourceVariant {
                    pipeline: self,
                    source,
                });
            }
        }
        if variants.is_empty() {
            Resolution::Unmapped {
                reason: format!(
                    "no source in pipeline '{}' for logsource {logsource}",
                    self.name
                ),
            }
        } else {
            Resolution::Mapped(variants)
        }
    }

    /// Every source of the pipeline, in file order (for listings and checks).
    pub fn sources(&self) -> impl ExactSizeIterator<Item = SourceVariant<'_>> {
        self.sources.iter().map(move |source| SourceVariant {
            pipeline: self,
            source,
        })
    }
}

/// One source a rule runs against: where its events are and how its fields are named.
#[derive(Debug, Clone, Copy)]
pub struct SourceVariant<'p> {
    pipeline: &'p Pipeline,
    source: &'p Source,
}

/// Two variants are equal when they are the same source of the same pipeline value (identity,
/// which is cheap; comparing contents would walk the whole pipeline).
impl PartialEq for SourceVariant<'_> {
    fn eq(&self, other: &Self) -> bool {
        std::ptr::eq(self.pipeline, other.pipeline) && std::ptr::eq(self.source, other.source)
    }
}

impl Eq for SourceVariant<'_> {}

/// What a Sigma field name becomes in a variant's events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FieldTarget<'p> {
    /// Read the first of these event fields that is present (never empty).
    Names(Cow<'p, [String]>),
    /// No mapping applies: the event field has the Sigma name.
    SameName,
    /// The source does not carry the field: treat it as absent (converters report it).
    Unavailable,
}

impl<'p> SourceVariant<'p> {
    /// The source's name, e.g. `security_4688`.
    pub fn name(&self) -> &'p str {
        &self.source.name
    }

    /// The source's description, if the file gives one.
    pub fn description(&self) -> Option<&'p str> {
        self.source.description.as_deref()
    }

    /// The logsource keys the source requires.
    pub fn logsource(&self) -> &'p LogsourcePattern {
        &self.source.logsource
    }

    /// The events of this source: an event belongs to it when it satisfies ANY of the sets
    /// (never empty; a single empty set means every event). Condition fields are event field
    /// names, not Sigma names: they are not field-mapped.
    pub fn conditions(&self) -> &'p [ConditionSet] {
        &self.source.conditions
    }

    /// What `sigma_name` is called in this source's events. Looked up in order: the source's
    /// `fields`, its `unavailable` list, the pipeline's `fields`, the pipeline's
    /// `fallback_field` templates; otherwise [`FieldTarget::SameName`]. Names are matched
    /// exactly (case-sensitive), as Sigma field names are.
    pub fn field(&self, sigma_name: &str) -> FieldTarget<'p> {
        if let Some(names) = self.source.fields.get(sigma_name) {
            return FieldTarget::Names(Cow::Borrowed(names));
        }
        if self.source.unavailable.contains(sigma_name) {
            return FieldTarget::Unavailable;
        }
        if let Some(names) = self.pipeline.fields.get(sigma_name) {
            return FieldTarget::Names(Cow::Borrowed(names));
        }
        if let Some(templates) = &self.pipeline.fallback_field {
            let names = templates
                .iter()
                .map(|template| template.replace(NAME_PLACEHOLDER, sigma_name))
                .collect();
            return FieldTarget::Names(Cow::Owned(names));
        }
        FieldTarget::SameName
    }

    /// The value transform the source declares for `sigma_name`, if any (applied by the
    /// converters, not yet by the engine; see [`ValueTransform`]). A copy: value maps are a
    /// few short strings and are read once per detection item, never per event.
    pub fn value_transform(&self, sigma_name: &str) -> Option<ValueTransform> {
        self.source.transforms.get(sigma_name).cloned()
    }

    /// The Sigma fields this source declares unavailable, sorted.
    pub fn unavailable_fields(&self) -> impl Iterator<Item = &'p str> {
        self.source.unavailable.iter().map(String::as_str)
    }

    /// Where converters send queries for this source, if the file says.
    pub fn target(&self) -> Option<&'p TargetInfo> {
        self.source.target.as_ref()
    }

    /// The name of the pipeline the variant comes from.
    pub fn pipeline_name(&self) -> &'p str {
        &self.pipeline.name
    }
}
