//! Choosing a pipeline on the command line: built-in names or YAML files, stacked in order.

use anyhow::{Context as _, bail};
use sigrun_pipeline::Pipeline;

/// Loads `names` (built-in names such as `windows`, or paths to YAML files: names ending in
/// `.yml`/`.yaml` or containing `/`) and stacks them;
/// no name means the built-in `windows` pipeline.
///
/// pySigma pipeline files are translated (`crates/pipeline/PYSIGMA.md`); their warnings go
/// to stderr. Several pySigma files combine as pySigma combines them (by `priority`), which
/// is not how sigrun layers stack, so they cannot be mixed with sigrun pipelines.
pub fn load(names: &[String]) -> anyhow::Result<Pipeline> {
    let names: Vec<&str> = if names.is_empty() {
        vec!["windows"]
    } else {
        names.iter().map(String::as_str).collect()
    };
    let mut layers = Vec::new();
    let mut pysigma: Vec<(&str, String)> = Vec::new();
    for name in &names {
        let is_file = name.ends_with(".yml") || name.ends_with(".yaml") || name.contains('/');
        if !is_file {
            layers.push(Pipeline::builtin(name)?.clone());
            continue;
        }
        let text = std::fs::read_to_string(name)
            .with_context(|| format!("cannot read pipeline {name}"))?;
        if Pipeline::is_pysigma(&text) {
            pysigma.push((name, text));
        } else {
            layers.push(Pipeline::from_yaml(name, &text)?);
        }
    }
    if let Some((first, _)) = pysigma.first() {
        if !layers.is_empty() {
            let others: Vec<&str> = names
                .iter()
                .copied()
                .filter(|name| !pysigma.iter().any(|(file, _)| file == name))
                .collect();
            bail!(
                "{first} is a pySigma pipeline, which cannot be stacked with the sigrun \
                 pipeline(s) {}; give pySigma pipelines alone (they combine by priority, as in \
                 pySigma)",
                others.join(", ")
            );
        }
        let files: Vec<(&str, &str)> = pysigma
            .iter()
            .map(|(name, text)| (*name, text.as_str()))
            .collect();
        let translation = Pipeline::from_pysigma_yamls(&files)?;
        for warning in &translation.warnings {
            eprintln!("sigrun: warning: {warning}");
        }
        return Ok(translation.pipeline);
    }
    if layers.len() == 1 {
        return Ok(layers.remove(0));
    }
    let refs: Vec<&Pipeline> = layers.iter().collect();
    Ok(Pipeline::stack(&refs)?)
}
