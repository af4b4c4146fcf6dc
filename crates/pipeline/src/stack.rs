//! Layering: several pipelines (`-p windows -p site.yml`) merged into one.

use crate::error::PipelineError;
use crate::model::{Pipeline, Removal};

impl Pipeline {
    /// Merges pipelines, each layer applied over the ones before it:
    ///
    /// - sources: a layer's `remove_sources` first deletes sources of the layers below (each
    ///   name must exist there); then a source whose name already exists replaces it in place
    ///   (whole source, not key by key), and a new name is appended;
    /// - `fields` and `placeholders`: merged key by key, the later layer winning;
    /// - `fallback_field` and `description`: the last layer that sets one wins;
    /// - the name is the layer names joined with `+` (`windows+site`).
    ///
    /// A single layer is returned as is, except that its `remove_sources` must be empty
    /// (there is nothing below it to remove from).
    pub fn stack(layers: &[&Pipeline]) -> Result<Pipeline, PipelineError> {
        let (first, rest) = layers.split_first().ok_or(PipelineError::EmptyStack)?;
        if let Some(removal) = first.remove_sources.first() {
            return Err(unknown_removal(first, removal));
        }
        let mut merged = (*first).clone();
        for layer in rest {
            merged = layer_over(merged, layer)?;
        }
        merged.remove_sources.clear();
        Ok(merged)
    }
}

/// Applies `top` over `base`.
fn layer_over(mut base: Pipeline, top: &Pipeline) -> Result<Pipeline, PipelineError> {
    check_removals_exist(&base, top)?;
    base.sources.retain(|source| {
        !top.remove_sources
            .iter()
            .any(|removal| removal.name == source.name)
    });
    for source in &top.sources {
        match base.sources.iter_mut().find(|old| old.name == source.name) {
            Some(old) => *old = source.clone(),
            None => base.sources.push(source.clone()),
        }
    }
    base.fields.extend(
        top.fields
            .iter()
            .map(|(name, targets)| (name.clone(), targets.clone())),
    );
    base.placeholders.extend(
        top.placeholders
            .iter()
            .map(|(name, values)| (name.clone(), values.clone())),
    );
    if top.fallback_field.is_some() {
        base.fallback_field.clone_from(&top.fallback_field);
    }
    if top.description.is_some() {
        base.description.clone_from(&top.description);
    }
    base.name = format!("{}+{}", base.name, top.name);
    base.origin = top.origin.clone();
    Ok(base)
}

/// Every name `top` removes must be a source of `base` (catches typos in the removal list).
fn check_removals_exist(base: &Pipeline, top: &Pipeline) -> Result<(), PipelineError> {
    match top
        .remove_sources
        .iter()
        .find(|removal| !base.sources.iter().any(|s| s.name == removal.name))
    {
        Some(removal) => Err(unknown_removal(top, removal)),
        None => Ok(()),
    }
}

fn unknown_removal(pipeline: &Pipeline, removal: &Removal) -> PipelineError {
    PipelineError::UnknownRemovedSource {
        file: pipeline.origin.clone(),
        at: removal.at,
        source_name: removal.name.clone(),
    }
}
