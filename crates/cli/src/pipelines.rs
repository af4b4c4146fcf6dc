//! Choosing a pipeline on the command line: built-in names or YAML files, stacked in order.

use anyhow::Context as _;
use sigrun_pipeline::Pipeline;

/// Loads `names` (built-in names such as `windows`, or paths to YAML files: names ending in
/// `.yml`/`.yaml` or containing `/`) and stacks them;
/// no name means the built-in `windows` pipeline.
pub fn load(names: &[String]) -> anyhow::Result<Pipeline> {
    let names: Vec<&str> = if names.is_empty() {
        vec!["windows"]
    } else {
        names.iter().map(String::as_str).collect()
    };
    let mut layers = Vec::new();
    for name in names {
        let is_file = name.ends_with(".yml") || name.ends_with(".yaml") || name.contains('/');
        let pipeline = if !is_file {
            Pipeline::builtin(name)?.clone()
        } else {
            let text = std::fs::read_to_string(name)
                .with_context(|| format!("cannot read pipeline {name}"))?;
            Pipeline::from_yaml(name, &text)?
        };
        layers.push(pipeline);
    }
    if layers.len() == 1 {
        return Ok(layers.remove(0));
    }
    let refs: Vec<&Pipeline> = layers.iter().collect();
    Ok(Pipeline::stack(&refs)?)
}
