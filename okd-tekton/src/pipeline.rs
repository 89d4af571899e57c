//! Checks a [`TektonSpec`] and builds its Pipeline and Tasks.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use super::names::{fit, is_label, resource_prefix};
use super::resource::{
    API_VERSION, ObjectMeta, Param, ParamSpec, Pipeline, PipelineResult, PipelineSpec,
    PipelineTask, PipelineWorkspaceDeclaration, Task, TaskRef, WhenExpression, WorkspaceBinding,
};
use super::task::{BuiltTask, job_task, job_timeout, stage_task};
use super::value::embedded_variable;
use super::{
    ATTEMPTS_RESULT, Condition, Error, IMAGE_PARAM, OUTCOME_RESULT, Operator, Part, TektonSpec,
    Value, Workspace,
};

/// A rendered pipeline: the Pipeline and its Tasks, in pipeline order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    /// The Pipeline.
    pub pipeline: Pipeline,
    /// Its Tasks.
    pub tasks: Vec<Task>,
}

/// One pipeline task before building: a stage or a job.
enum Node<'a> {
    Stage(&'a super::Stage),
    Job(&'a super::JobSpec),
}

struct Entry<'a> {
    name: String,
    node: Node<'a>,
    results: Vec<String>,
}

impl Entry<'_> {
    fn values(&self) -> Vec<(&Value, &'static str)> {
        match self.node {
            Node::Stage(s) => s
                .args
                .iter()
                .map(|v| (v, "arguments"))
                .chain(s.when.iter().map(|c| (&c.input, "when expressions")))
                .collect(),
            Node::Job(j) => [&j.release_image, &j.initial_image, &j.release_name]
                .into_iter()
                .flatten()
                .map(|v| (v, "job images"))
                .collect(),
        }
    }

    fn run_after(&self) -> &[String] {
        match self.node {
            Node::Stage(s) => &s.run_after,
            Node::Job(j) => &j.run_after,
        }
    }
}

fn check_label(what: &'static str, name: &str) -> Result<(), Error> {
    if is_label(name) {
        Ok(())
    } else {
        Err(Error::InvalidName {
            what,
            name: name.to_string(),
        })
    }
}

fn check_literal(task: &str, text: &str) -> Result<(), Error> {
    match embedded_variable(text) {
        Some(variable) => Err(Error::LiteralVariable {
            task: task.to_string(),
            text: text.to_string(),
            variable,
        }),
        None => Ok(()),
    }
}

/// Checks every reference of `value`, used by `task` in `place`.
fn check_value(
    value: &Value,
    task: &str,
    place: &'static str,
    params: &BTreeSet<&str>,
    entries: &BTreeMap<&str, &Entry<'_>>,
    own_results: Option<&[String]>,
) -> Result<(), Error> {
    let in_pipeline = place == "when expressions" || place == "pipeline results";
    let misplaced = |part: &Part| Error::MisplacedReference {
        task: task.to_string(),
        reference: Value {
            parts: vec![part.clone()],
        }
        .to_string(),
        place,
    };
    for part in &value.parts {
        match part {
            Part::Text(t) => check_literal(task, t)?,
            Part::Param(p) if !params.contains(p.as_str()) => {
                return Err(Error::UnknownParam {
                    task: task.to_string(),
                    param: p.clone(),
                });
            }
            Part::Param(_) => {}
            Part::Workspace(_) if in_pipeline => return Err(misplaced(part)),
            Part::Workspace(_) => {}
            Part::ResultPath(r) => match own_results {
                Some(own) if !in_pipeline && own.contains(r) => {}
                Some(_) if !in_pipeline => {
                    return Err(Error::UnknownResult {
                        task: task.to_string(),
                        target: task.to_string(),
                        result: r.clone(),
                    });
                }
                _ => return Err(misplaced(part)),
            },
            Part::TaskResult { task: target, .. } if target == task => {
                return Err(misplaced(part));
            }
            Part::TaskResult {
                task: target,
                result,
            } => {
                let Some(entry) = entries.get(target.as_str()) else {
                    return Err(Error::UnknownTask {
                        task: task.to_string(),
                        target: target.clone(),
                    });
                };
                if !entry.results.contains(result) {
                    return Err(Error::UnknownResult {
                        task: task.to_string(),
                        target: target.clone(),
                        result: result.clone(),
                    });
                }
            }
        }
    }
    Ok(())
}

/// Tasks in dependency order, ties broken by declaration order; errors on a cycle.
fn order(entries: &[Entry<'_>], deps: &[BTreeSet<usize>]) -> Result<Vec<usize>, Error> {
    let mut done = vec![false; entries.len()];
    let mut out = Vec::with_capacity(entries.len());
    while out.len() < entries.len() {
        let next = (0..entries.len()).find(|&i| !done[i] && deps[i].iter().all(|&d| done[d]));
        match next {
            Some(i) => {
                done[i] = true;
                out.push(i);
            }
            None => {
                return Err(Error::Cycle {
                    tasks: (0..entries.len())
                        .filter(|&i| !done[i])
                        .map(|i| entries[i].name.clone())
                        .collect(),
                });
            }
        }
    }
    Ok(out)
}

/// Go duration text (`4h0m0s`), as Tekton writes timeouts.
pub(crate) fn go_duration(d: Duration) -> String {
    let secs = d.as_secs();
    format!("{}h{}m{}s", secs / 3600, secs / 60 % 60, secs % 60)
}

fn when(condition: &Condition) -> WhenExpression {
    WhenExpression {
        input: condition.input.to_string(),
        operator: match condition.operator {
            Operator::In => "in",
            Operator::NotIn => "notin",
        }
        .to_string(),
        values: condition.values.clone(),
    }
}

/// Checks `spec` and builds its Pipeline and Tasks.
pub fn render(spec: &TektonSpec) -> Result<Rendered, Error> {
    let prefix = if spec.name.is_empty() {
        resource_prefix(&spec.stream)
    } else {
        check_label("pipeline", &spec.name)?;
        spec.name.clone()
    };
    check_literal("pipeline", &spec.image)?;

    let mut params: BTreeSet<&str> = BTreeSet::from([IMAGE_PARAM]);
    for p in &spec.params {
        check_label("parameter", &p.name)?;
        if !params.insert(p.name.as_str()) {
            return Err(Error::Duplicate {
                what: "parameter",
                name: p.name.clone(),
            });
        }
    }

    let mut entries = Vec::new();
    for stage in &spec.stages {
        check_label("stage", &stage.name)?;
        let mut results = Vec::new();
        for r in &stage.results {
            check_label("result", &r.name)?;
            if results.contains(&r.name) {
                return Err(Error::Duplicate {
                    what: "result",
                    name: format!("{}.{}", stage.name, r.name),
                });
            }
            results.push(r.name.clone());
        }
        entries.push(Entry {
            name: stage.name.clone(),
            node: Node::Stage(stage),
            results,
        });
    }
    for job in &spec.jobs {
        let name = job.task_name();
        check_label("job task", &name)?;
        for word in job.command.iter().chain(job.env.values()) {
            check_literal(&name, word)?;
        }
        if let Some(image) = &job.image {
            check_literal(&name, image)?;
        }
        entries.push(Entry {
            name,
            node: Node::Job(job),
            results: vec![OUTCOME_RESULT.to_string(), ATTEMPTS_RESULT.to_string()],
        });
    }
    let mut by_name: BTreeMap<&str, &Entry<'_>> = BTreeMap::new();
    for e in &entries {
        if by_name.insert(e.name.as_str(), e).is_some() {
            return Err(Error::Duplicate {
                what: "pipeline task",
                name: e.name.clone(),
            });
        }
    }
    let index: BTreeMap<&str, usize> = entries
        .iter()
        .enumerate()
        .map(|(i, e)| (e.name.as_str(), i))
        .collect();

    let mut deps = Vec::with_capacity(entries.len());
    for e in &entries {
        let own = match e.node {
            Node::Stage(_) => Some(e.results.as_slice()),
            Node::Job(_) => None,
        };
        let mut d = BTreeSet::new();
        for (value, place) in e.values() {
            check_value(value, &e.name, place, &params, &by_name, own)?;
            d.extend(value.tasks().filter_map(|t| index.get(t).copied()));
        }
        for after in e.run_after() {
            match index.get(after.as_str()) {
                Some(&i) if entries[i].name != e.name => {
                    d.insert(i);
                }
                _ => {
                    return Err(Error::UnknownTask {
                        task: e.name.clone(),
                        target: after.clone(),
                    });
                }
            }
        }
        deps.push(d);
    }
    for out in &spec.results {
        check_label("pipeline result", &out.name)?;
        check_value(
            &out.value,
            "pipeline",
            "pipeline results",
            &params,
            &by_name,
            None,
        )?;
    }

    let mut tasks = Vec::new();
    let mut pipeline_tasks = Vec::new();
    let mut used: BTreeSet<String> = BTreeSet::new();
    for i in order(&entries, &deps)? {
        let e = &entries[i];
        let resource = fit(&format!("{prefix}-{}", e.name));
        let (built, when_exprs, timeout): (BuiltTask, Vec<WhenExpression>, Option<String>) =
            match e.node {
                Node::Stage(s) => (
                    stage_task(spec, s, &resource),
                    s.when.iter().map(when).collect(),
                    s.timeout.map(go_duration),
                ),
                Node::Job(j) => (
                    job_task(spec, j, &resource)?,
                    Vec::new(),
                    Some(go_duration(job_timeout(j))),
                ),
            };
        for (_, outer) in &built.params {
            used.extend(param_refs(outer));
        }
        for w in &when_exprs {
            used.extend(param_refs(&w.input));
        }
        pipeline_tasks.push(PipelineTask {
            name: e.name.clone(),
            task_ref: TaskRef {
                name: resource.clone(),
            },
            run_after: e.run_after().to_vec(),
            params: built
                .params
                .iter()
                .map(|(name, value)| Param {
                    name: name.clone(),
                    value: value.clone(),
                })
                .collect(),
            workspaces: built
                .workspaces
                .iter()
                .map(|w| WorkspaceBinding {
                    name: w.name().to_string(),
                    workspace: w.name().to_string(),
                })
                .collect(),
            when: when_exprs,
            timeout,
        });
        tasks.push(built.task);
    }
    for out in &spec.results {
        used.extend(param_refs(&out.value.to_string()));
    }

    let mut param_specs = Vec::new();
    if used.contains(IMAGE_PARAM) {
        param_specs.push(ParamSpec {
            name: IMAGE_PARAM.to_string(),
            type_: "string".to_string(),
            description: "Container image with the okd-streams CLI.".to_string(),
            default: Some(spec.image.clone()),
        });
    }
    for p in &spec.params {
        if !used.contains(&p.name) {
            return Err(Error::UnusedParam {
                param: p.name.clone(),
            });
        }
        param_specs.push(ParamSpec {
            name: p.name.clone(),
            type_: "string".to_string(),
            description: p.description.clone(),
            default: p.default.clone(),
        });
    }

    let mut metadata = ObjectMeta {
        name: prefix,
        ..ObjectMeta::default()
    };
    metadata.labels.insert(
        "app.kubernetes.io/part-of".to_string(),
        "okd-streams".to_string(),
    );
    metadata.annotations.insert(
        "tekton.dev/displayName".to_string(),
        format!("okd-streams: {}", spec.stream),
    );
    metadata
        .annotations
        .insert("okd-streams/stream".to_string(), spec.stream.clone());
    let pipeline = Pipeline {
        api_version: API_VERSION.to_string(),
        kind: "Pipeline".to_string(),
        metadata,
        spec: PipelineSpec {
            description: format!(
                "Runs the OKD stream {:?}: its stages with the okd-streams CLI and its gating jobs.",
                spec.stream
            ),
            params: param_specs,
            workspaces: [Workspace::Credentials, Workspace::State]
                .into_iter()
                .map(|w| PipelineWorkspaceDeclaration {
                    name: w.name().to_string(),
                    description: match w {
                        Workspace::Credentials => format!(
                            "Registry credentials: a Secret with the file {:?} (containers auth.json or docker config.json).",
                            spec.auth_file
                        ),
                        Workspace::State => "The stream's state, kept between runs (a PersistentVolumeClaim).".to_string(),
                    },
                })
                .collect(),
            tasks: pipeline_tasks,
            results: spec
                .results
                .iter()
                .map(|r| PipelineResult {
                    name: r.name.clone(),
                    description: r.description.clone(),
                    value: r.value.to_string(),
                })
                .collect(),
        },
    };
    Ok(Rendered { pipeline, tasks })
}

/// The pipeline parameters a pipeline-level value refers to.
fn param_refs(value: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = value;
    while let Some(start) = rest.find("$(params.") {
        rest = &rest[start + "$(params.".len()..];
        if let Some(end) = rest.find(')') {
            out.push(rest[..end].to_string());
            rest = &rest[end..];
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_durations() {
        assert_eq!(go_duration(Duration::from_secs(4 * 3600)), "4h0m0s");
        assert_eq!(go_duration(Duration::from_secs(3 * 3600 + 125)), "3h2m5s");
    }

    #[test]
    fn finds_param_references() {
        assert_eq!(
            param_refs("$(params.a)-$(tasks.x.results.y)/$(params.b-c)"),
            ["a", "b-c"]
        );
    }
}
