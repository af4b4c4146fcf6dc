//! The rule-set compiler: rules → variants → trees over shared atoms → dispatch buckets,
//! scan tables and the node arena of an [`Engine`].

use crate::atoms::{AtomField, AtomId, AtomTable, ScanKind};
use crate::dispatch::{DispatchTable, Key, Selector, compile_selector};
use crate::engine::{Bucket, Engine, EngineStats, PoolEntry, Variant};
use crate::fx::FxMap;
use crate::lower::{Lowerer, PlaceholderPolicy};
use crate::problem::{CompileProblem, ProblemKind};
use crate::scan::{FieldScan, group_scan_atoms};
use crate::tree::{Tree, Trigger};
use sigrun_pipeline::{LogSource, Pipeline, Resolution, SourceVariant};
use sigrun_rule::condition::Aggregation;
use sigrun_rule::{Document, DocumentKind, SigmaRule};
use std::time::Instant;

/// Compiler settings.
#[derive(Clone, Debug, Default)]
pub struct CompileOptions {
    /// `%placeholder%`s the pipeline has no values for.
    pub placeholders: PlaceholderPolicy,
}

/// A variant on its way into the engine.
struct Pending {
    rule: u32,
    source: Box<str>,
    tree: Tree,
    trigger: Trigger,
    selector: Selector,
    keys: Vec<Key>,
    exact: bool,
}

impl Engine {
    /// Compiles rules given with the caller's ids. Rules are evaluated, and matches reported,
    /// in ascending id order. Every rule is either compiled or returned as a problem.
    pub fn compile(
        rules: &[(usize, &SigmaRule)],
        pipeline: &Pipeline,
        options: &CompileOptions,
    ) -> (Engine, Vec<CompileProblem>) {
        let started = Instant::now();
        let mut sorted: Vec<(usize, &SigmaRule)> = rules.to_vec();
        sorted.sort_by_key(|(id, _)| *id);

        let mut table = AtomTable::default();
        let mut problems = Vec::new();
        let mut rule_ids = Vec::new();
        let mut pending = Vec::new();
        let mut sources = SourceMemo::default();
        for (caller, rule) in sorted {
            let lowered = sources
                .variants(rule, pipeline)
                .and_then(|variants| lower_rule(rule, variants, pipeline, options, &mut table));
            match lowered {
                Err(kind) => problems.push(CompileProblem { rule: caller, kind }),
                Ok(variants) => {
                    if variants
                        .iter()
                        .all(|(_, _, trigger)| *trigger == Trigger::Never)
                    {
                        problems.push(CompileProblem {
                            rule: caller,
                            kind: ProblemKind::NeverMatches,
                        });
                        continue;
                    }
                    let index = rule_ids.len() as u32;
                    rule_ids.push(caller);
                    for (variant, tree, trigger) in variants {
                        if trigger == Trigger::Never {
                            continue;
                        }
                        let (selector, keys, exact) = compile_selector(&variant, &mut table);
                        pending.push(Pending {
                            rule: index,
                            source: variant.name().into(),
                            tree,
                            trigger,
                            selector,
                            keys,
                            exact,
                        });
                    }
                }
            }
        }
        let lowered = started.elapsed();
        let engine = assemble(table, rule_ids, pending, started, lowered);
        (engine, problems)
    }

    /// Compiles the documents of a rule set: rules are compiled, and correlations, filters
    /// and documents with errors come back as problems with their ids.
    pub fn compile_documents(
        documents: &[(usize, &Document)],
        pipeline: &Pipeline,
        options: &CompileOptions,
    ) -> (Engine, Vec<CompileProblem>) {
        let mut rules = Vec::new();
        let mut problems = Vec::new();
        for &(id, document) in documents {
            let kind = match &document.kind {
                _ if document.has_errors() => ProblemKind::InvalidDocument,
                Some(DocumentKind::Rule(rule)) => {
                    rules.push((id, rule));
                    continue;
                }
                Some(DocumentKind::Correlation(_)) => ProblemKind::Correlation,
                Some(DocumentKind::Filter(_)) => ProblemKind::Filter,
                None => ProblemKind::InvalidDocument,
            };
            problems.push(CompileProblem { rule: id, kind });
        }
        let (engine, more) = Engine::compile(&rules, pipeline, options);
        problems.extend(more);
        problems.sort_by_key(|p| p.rule);
        (engine, problems)
    }
}

type LoweredVariant<'p> = (sigrun_pipeline::SourceVariant<'p>, Tree, Trigger);

/// The pipeline's source variants for a rule's logsource, or why the rule cannot run (an
/// aggregation, which needs state; a logsource the pipeline does not map).
pub(crate) fn rule_variants<'p>(
    rule: &SigmaRule,
    pipeline: &'p Pipeline,
) -> Result<Vec<SourceVariant<'p>>, ProblemKind> {
    if let Some(aggregation) = rule
        .detection
        .conditions
        .iter()
        .find_map(|c| c.aggregation.as_ref())
    {
        return Err(ProblemKind::Aggregation(describe_aggregation(aggregation)));
    }
    let logsource = LogSource {
        category: rule.logsource.category(),
        product: rule.logsource.product(),
        service: rule.logsource.service(),
    };
    match pipeline.resolve(&logsource) {
        Resolution::Unmapped { reason } => Err(ProblemKind::Unmapped(reason)),
        Resolution::Mapped(variants) => Ok(variants),
    }
}

/// [`rule_variants`] once per logsource: most rules of a set share a handful of logsources,
/// and resolving one walks the pipeline's sources.
#[derive(Default)]
struct SourceMemo<'r, 'p> {
    resolved: FxMap<[Option<&'r str>; 3], Result<Vec<SourceVariant<'p>>, ProblemKind>>,
}

impl<'r, 'p> SourceMemo<'r, 'p> {
    fn variants(
        &mut self,
        rule: &'r SigmaRule,
        pipeline: &'p Pipeline,
    ) -> Result<Vec<SourceVariant<'p>>, ProblemKind> {
        if rule
            .detection
            .conditions
            .iter()
            .any(|c| c.aggregation.is_some())
        {
            // Not a property of the logsource; `rule_variants` says why.
            return rule_variants(rule, pipeline);
        }
        let logsource = &rule.logsource;
        let key = [
            logsource.category(),
            logsource.product(),
            logsource.service(),
        ];
        self.resolved
            .entry(key)
            .or_insert_with(|| rule_variants(rule, pipeline))
            .clone()
    }
}

/// One rule, every variant of it, or the reason it cannot run.
fn lower_rule<'p>(
    rule: &SigmaRule,
    variants: Vec<SourceVariant<'p>>,
    pipeline: &'p Pipeline,
    options: &CompileOptions,
    table: &mut AtomTable,
) -> Result<Vec<LoweredVariant<'p>>, ProblemKind> {
    let mut out = Vec::with_capacity(variants.len());
    for variant in variants {
        let mut lowerer = Lowerer {
            table: &mut *table,
            pipeline,
            variant,
            placeholders: options.placeholders,
        };
        let mut tree = lowerer.rule(rule)?.simplify();
        tree.order(&table.atoms);
        let trigger = tree.trigger(&table.atoms);
        out.push((variant, tree, trigger));
    }
    Ok(out)
}

pub(crate) fn describe_aggregation(a: &Aggregation) -> String {
    let mut text = format!(" {}({})", a.function, a.field.as_deref().unwrap_or(""));
    if let Some(group) = &a.group_by {
        text.push_str(&format!(" by {group}"));
    }
    text.push_str(&format!(" {} {}", a.operator, a.threshold));
    text
}

/// Everything after lowering: the node arena, scan tables, names and buckets.
fn assemble(
    table: AtomTable,
    rule_ids: Vec<usize>,
    pending: Vec<Pending>,
    started: Instant,
    lowered: std::time::Duration,
) -> Engine {
    let AtomTable { fields, atoms, .. } = table;
    let mut nodes = Vec::new();
    let mut kids = Vec::new();
    let mut variants = Vec::with_capacity(pending.len());
    let mut selectors = Vec::with_capacity(pending.len());
    let mut used = vec![false; atoms.len()];
    let mut keyword_atoms: Vec<VariantKeywords> = Vec::with_capacity(pending.len());
    let mut keys = Vec::with_capacity(pending.len());
    let mut stats = EngineStats {
        rules: rule_ids.len(),
        ..EngineStats::default()
    };
    for (index, p) in pending.iter().enumerate() {
        let root = p.tree.emit(&mut nodes, &mut kids);
        let mut evaluated = Vec::new();
        collect_atoms(&p.tree, &atoms, &mut evaluated);
        if let Trigger::AllOf(sets) = &p.trigger {
            evaluated.extend(sets.iter().flatten().copied());
        } else {
            stats.untriggered_variants += 1;
        }
        let mut keyword = VariantKeywords::default();
        for &a in &evaluated {
            used[a as usize] = true;
            let atom = &atoms[a as usize];
            if atom.field == AtomField::Keyword {
                keyword.any = true;
                if atom.scan == ScanKind::Exact {
                    keyword.scanned.push(a);
                } else {
                    // False whenever its hints are, which the keyword scan answers.
                    let answered = !atom.hints.is_empty()
                        && atom.hints.iter().all(|&h| {
                            let hint = &atoms[h as usize];
                            hint.field == AtomField::Keyword && hint.scan == ScanKind::Exact
                        });
                    keyword.needs_values |= !answered;
                }
            }
        }
        keyword.scanned.sort_unstable();
        keyword.scanned.dedup();
        keyword_atoms.push(keyword);
        selectors.push(p.selector.clone());
        keys.push((index as u32, p.keys.clone()));
        variants.push(Variant {
            rule: p.rule,
            source: p.source.clone(),
            root,
            selector: (!p.exact).then(|| p.selector.clone()),
        });
    }
    stats.variants = variants.len();
    stats.atoms = used.iter().filter(|&&u| u).count();
    stats.fields = fields.len();

    // Scan tables per field.
    let scan_started = Instant::now();
    let by_field = group_scan_atoms(&atoms, &used);
    let mut scans: Vec<Option<FieldScan>> = (0..fields.len()).map(|_| None).collect();
    for (field, ids) in by_field {
        let scan = FieldScan::build(&atoms, &ids);
        stats.scan_atoms += ids.len();
        stats.automaton_patterns += scan.pattern_count();
        stats.automata += usize::from(scan.pattern_count() > 0);
        stats
            .largest_automata
            .push((fields[field as usize].join("|"), scan.pattern_count()));
        scans[field as usize] = Some(scan);
    }

    // Buckets, each with a keyword scan over just its own rules' keywords: keywords are
    // searched in every value of an event, so a small automaton (often with a SIMD
    // prefilter) matters.
    let (dispatch, lists) = DispatchTable::build(&keys);
    let mut keyword_scans: Vec<FieldScan> = Vec::new();
    let mut keyword_scan_of: FxMap<Vec<AtomId>, u32> = FxMap::default();
    let mut buckets = Vec::with_capacity(lists.len());
    for members in &lists {
        let mut set: Vec<AtomId> = members
            .iter()
            .flat_map(|&v| keyword_atoms[v as usize].scanned.iter().copied())
            .collect();
        set.sort_unstable();
        set.dedup();
        let keyword_scan = if set.is_empty() {
            None
        } else {
            Some(*keyword_scan_of.entry(set).or_insert_with_key(|set| {
                stats.scan_atoms += set.len();
                let scan = FieldScan::build(&atoms, set).with_case_gate();
                stats.automaton_patterns += scan.pattern_count();
                stats.automata += 1;
                keyword_scans.push(scan);
                (keyword_scans.len() - 1) as u32
            }))
        };
        buckets.push(build_bucket(
            members,
            &pending,
            &keyword_atoms,
            &atoms,
            &scans,
            keyword_scan,
        ));
    }
    stats.scan_tables = scan_started.elapsed();
    stats
        .largest_automata
        .sort_by(|(a, n), (b, m)| m.cmp(n).then_with(|| a.cmp(b)));
    stats.largest_automata.truncate(8);
    stats.buckets = buckets.len();

    // Event field names → the fields they feed, with their rank in each field's name list.
    let mut by_name: FxMap<&str, Vec<(u32, u16)>> = FxMap::default();
    for (id, names) in fields.iter().enumerate() {
        for (rank, name) in names.iter().enumerate() {
            by_name
                .entry(name)
                .or_default()
                .push((id as u32, rank.min(u16::MAX as usize) as u16));
        }
    }
    let mut name_entries = Vec::with_capacity(by_name.len());
    let mut name_targets = Vec::new();
    let mut sorted_names: Vec<_> = by_name.into_iter().collect();
    sorted_names.sort();
    for (name, targets) in sorted_names {
        let start = name_targets.len() as u32;
        name_targets.extend(targets.iter().copied());
        name_entries.push((Box::from(name), (start, targets.len() as u32)));
    }
    let names = crate::fx::NameTable::new(name_entries);
    stats.lowering = lowered;
    stats.total = started.elapsed();

    Engine::from_parts(crate::engine::Parts {
        rule_ids,
        variants,
        selectors,
        nodes,
        kids,
        heads: atoms.iter().map(crate::engine::AtomHead::of).collect(),
        atoms,
        fields,
        names,
        name_targets,
        scans,
        keyword_scans,
        dispatch,
        buckets,
        stats,
    })
}

/// A variant's keyword atoms.
#[derive(Default)]
struct VariantKeywords {
    /// Those the keyword scan answers.
    scanned: Vec<AtomId>,
    /// It has keyword atoms: every value of an event must be kept.
    any: bool,
    /// Some keyword atom needs the values even when the keyword scan fires nothing.
    needs_values: bool,
}

/// The atoms a tree evaluates, with their hints.
fn collect_atoms(tree: &Tree, atoms: &[crate::atoms::Atom], out: &mut Vec<AtomId>) {
    match tree {
        Tree::Const(_) => {}
        Tree::Atom(a) => {
            // Hints are scan atoms, which have no hints themselves.
            out.push(*a);
            out.extend(atoms[*a as usize].hints.iter().copied());
        }
        Tree::Not(inner) => collect_atoms(inner, atoms, out),
        Tree::And(items) | Tree::Or(items) => {
            items.iter().for_each(|i| collect_atoms(i, atoms, out))
        }
    }
}

fn build_bucket(
    members: &[u32],
    pending: &[Pending],
    keyword_atoms: &[VariantKeywords],
    atoms: &[crate::atoms::Atom],
    scans: &[Option<FieldScan>],
    keyword_scan: Option<u32>,
) -> Bucket {
    let mut always = Vec::new();
    let mut by_atom: FxMap<AtomId, Vec<PoolEntry>> = FxMap::default();
    let mut scan_fields = Vec::new();
    let mut scan_keywords = false;
    let mut collect_all = false;
    let mut keywords_need_values = false;
    for &v in members {
        let p = &pending[v as usize];
        collect_all |= keyword_atoms[v as usize].any;
        keywords_need_values |= keyword_atoms[v as usize].needs_values;
        // The sets whose every atom a scan of this bucket answers; a variant with none is
        // evaluated for every event.
        let sets: Vec<&Vec<AtomId>> = match &p.trigger {
            Trigger::AllOf(sets) => sets
                .iter()
                .filter(|set| {
                    set.iter().all(|&a| match atoms[a as usize].field {
                        AtomField::Field(f) => scans[f as usize].is_some(),
                        AtomField::Keyword => keyword_scan.is_some(),
                    })
                })
                .collect(),
            _ => Vec::new(),
        };
        if sets.is_empty() {
            always.push(v);
            continue;
        }
        for (index, set) in sets.iter().enumerate() {
            let entry = PoolEntry::new(v, index, sets.len());
            for &a in set.iter() {
                by_atom.entry(a).or_default().push(entry);
                match atoms[a as usize].field {
                    AtomField::Field(f) => scan_fields.push(f),
                    AtomField::Keyword => scan_keywords = true,
                }
            }
        }
    }
    scan_fields.sort_unstable();
    scan_fields.dedup();
    let mut triggers = FxMap::default();
    let mut pool = Vec::new();
    let mut entries: Vec<_> = by_atom.into_iter().collect();
    entries.sort_by_key(|(a, _)| *a);
    for (atom, variants) in entries {
        let start = pool.len() as u32;
        pool.extend(variants.iter().copied());
        triggers.insert(atom, (start, variants.len() as u32));
    }
    Bucket {
        members: members.len(),
        always: always.into(),
        triggers,
        pool: pool.into(),
        scan_fields: scan_fields.into(),
        keyword_scan: keyword_scan.filter(|_| scan_keywords),
        collect_all,
        keywords_need_values,
    }
}
