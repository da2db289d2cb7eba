"""Keep a case's live task tree small however long the case lives.

SpiffWorkflow 3.2 keeps every finished task in the tree, so each step of a
looping case costs more than the last, and its task iterator stops at depth
1,000: past about 333 cycles of a review loop the open task vanishes and the
case reports itself completed. The story of a case is in the audit log, not in
the tree, so before each save the finished past is cut away (:func:`prune`):

- per thread of the root (the main path, each triggered event sub-process),
  the deepest finished task that is an ancestor of every live task (and of the
  last task, and of the split task a live boundary join looks up) becomes the
  thread's new top, directly under the root; what lay between goes;
- a finished thread goes, unless it holds an end token whose data the end
  join merges when the process ends: such tokens move under the root, and
  finished ones fold into one, merged as the end join would merge them;
- a waiting cycle timer keeps only its newest waiting token, not one per firing;
- sub-processes of dropped tasks go with them; running ones are pruned alike.

The new top is always finished, so its data (which its children inherit) is
final. The root is never dropped. Nothing here recurses over the tree's depth,
so a deep tree saved before pruning existed is pruned on its next save.

What the diagram of the history needs from dropped tasks (which elements were
completed, from which element each was reached) is kept as :func:`reached`
facts, stored with the state: bounded by the model's size, not the case's age.
"""

from __future__ import annotations

from copy import deepcopy
from typing import Any

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.specs.control import BoundaryEventJoin, _EndJoin
from SpiffWorkflow.bpmn.specs.mixins.events.end_event import EndEvent
from SpiffWorkflow.bpmn.specs.mixins.events.intermediate_event import BoundaryEvent
from SpiffWorkflow.specs.Join import Join
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.deep_merge import DeepMerge
from SpiffWorkflow.util.task import TaskState
from SpiffWorkflow.workflow import Workflow

LIVE = TaskState.NOT_FINISHED_MASK | TaskState.ERROR
DONE = TaskState.COMPLETED
CANCELLED = TaskState.CANCELLED
ENDED = TaskState.COMPLETED | TaskState.CANCELLED
# Where a case has been: not the engine's predictions (FUTURE, LIKELY, MAYBE).
REACHED_STATES = DONE | TaskState.READY | TaskState.WAITING | TaskState.STARTED | TaskState.ERROR

# (process id, element id, id of the modelled element it was reached from or None,
# whether it completed): the path on the diagram, without the tasks that walked it.
Reached = tuple[str, str, str | None, bool]
REACHED_ATTRIBUTE = "nrmflow_reached"  # on the workflow object and in the stored document


def prune(workflow: BpmnWorkflow) -> int:
    """Cut the finished past out of ``workflow`` in place; return how many tasks went."""
    setattr(workflow, REACHED_ATTRIBUTE, reached(workflow))
    removed = _prune_tree(workflow)
    for subprocess in list(workflow.subprocesses.values()):
        if not subprocess.completed:
            removed += _prune_tree(subprocess)
    for task in removed:
        workflow.event_manager.remove_task(task)
    _forget_subprocesses_of(workflow, {task.id for task in removed})
    return len(removed)


def reached(workflow: BpmnWorkflow) -> set[Reached]:
    """Every element the case reached or completed, now or before its tree was pruned."""
    facts: set[Reached] = set(getattr(workflow, REACHED_ATTRIBUTE, ()))
    for each in (workflow, *workflow.subprocesses.values()):
        for task in each.tasks.values():
            if task.state & REACHED_STATES and task.task_spec.bpmn_id:
                element = task.task_spec.bpmn_id
                done = task.state == DONE
                facts.add((task.workflow.spec.name, element, source_of(task), done))
    return facts


def source_of(task: Task) -> str | None:
    """The element ``task`` was reached from: its nearest ancestor with a BPMN id
    (the engine's own split and join tasks have none)."""
    parent = task.parent
    while parent is not None and not parent.task_spec.bpmn_id:
        parent = parent.parent
    return parent.task_spec.bpmn_id if parent is not None else None


# ----------------------------------------------------------------- one tree


def _prune_tree(workflow: Workflow) -> list[Task]:
    removed: list[Task] = []
    root = workflow.task_tree
    _gather_end_tokens(workflow, root, removed)
    _trim_cycle_timers(workflow, removed)
    threads: dict[Any, list[tuple[Task, list[Task]]]] = {child.id: [] for child in root.children}
    for task in workflow.tasks.values():
        if task.state & LIVE or task is workflow.last_task or isinstance(task.task_spec, _EndJoin):
            path = _path(task)
            if len(path) > 1:
                threads[path[-2].id].append((task, path))
    for head_id, members in threads.items():
        _cut_thread(workflow, root, head_id, members, removed)
    return removed


def _gather_end_tokens(workflow: Workflow, root: Task, removed: list[Task]) -> None:
    """Move tokens that reached an end event under the root; fold the finished ones."""
    for task in list(workflow.tasks.values()):
        parent = task.parent
        early = parent is not None and parent is not root and _is_end_token(parent)
        if early and task.state & (TaskState.WAITING | TaskState.CANCELLED):
            _move_under(parent, root)
    finished = sorted(
        (c for c in root.children if _is_end_token(c) and c.children[0].state == CANCELLED),
        key=lambda c: c.children[0].last_state_change,
    )
    if len(finished) > 1:
        merged: dict[str, Any] = {}
        for token in finished:  # oldest first, as the end join merges them
            DeepMerge.merge(merged, deepcopy(token.data))
        finished[-1].data = merged
        for token in finished[:-1]:
            root._children.remove(token.id)
            _drop(workflow, token, removed)


def _is_end_token(task: Task) -> bool:
    """A completed end event whose only child is the process's end join."""
    return (
        isinstance(task.task_spec, EndEvent)
        and task.state == DONE
        and len(task._children) == 1
        and isinstance(task.children[0].task_spec, _EndJoin)
    )


def _trim_cycle_timers(workflow: Workflow, removed: list[Task]) -> None:
    """A waiting cycle timer grows a finished branch and a join token per firing."""
    for event in [t for t in workflow.tasks.values() if isinstance(t.task_spec, BoundaryEvent)]:
        if event.state != TaskState.WAITING:
            continue
        tokens = [
            c
            for c in event.children
            if isinstance(c.task_spec, BoundaryEventJoin) and c.state == TaskState.WAITING
        ]
        finished = [c for c in event.children if c.state & ENDED and not c._children]
        for child in finished + tokens[:-1]:
            event._children.remove(child.id)
            _drop(workflow, child, removed)


def _cut_thread(
    workflow: Workflow,
    root: Task,
    head_id: Any,
    members: list[tuple[Task, list[Task]]],
    removed: list[Task],
) -> None:
    live = [
        (task, path) for task, path in members if task.state & LIVE or task is workflow.last_task
    ]
    if not live:
        if not members:  # finished, and no end token whose data is still to merge
            root._children.remove(head_id)
            _drop(workflow, workflow.tasks[head_id], removed)
        return
    spine = live[0][1][::-1]  # root ... the first live task
    depth_of = {task.id: depth for depth, task in enumerate(spine)}
    keep = len(spine) - 1
    for task, path in live:
        keep = min(keep, next(depth_of[a.id] for a in path if a.id in depth_of))
        keep = min(keep, _split_depth(task, path, depth_of))
    while keep > 1 and spine[keep].state != DONE:
        keep -= 1  # the new top must be finished: its data is final
    if keep > 1:
        top, head = spine[keep], spine[1]
        spine[keep - 1]._children.remove(top.id)
        root._children[root._children.index(head.id)] = top.id
        top._parent = root.id
        _drop(workflow, head, removed)


def _split_depth(task: Task, path: list[Task], depth_of: dict[Any, int]) -> int:
    """A live join that looks up its split task (boundary events) needs that task kept."""
    spec = task.task_spec
    if not (task.state & LIVE and isinstance(spec, Join) and spec.split_task):
        return len(path)
    split = next((a for a in path[1:] if a.task_spec.name == spec.split_task), None)
    return depth_of.get(split.id, 0) if split is not None else 0


# ----------------------------------------------------------------- tree surgery


def _path(task: Task | None) -> list[Task]:
    """``task``, its parent, ... the root: a loop, never recursion."""
    path = []
    while task is not None:
        path.append(task)
        task = task.parent
    return path


def _move_under(task: Task, root: Task) -> None:
    task.parent._children.remove(task.id)
    root._children.append(task.id)
    task._parent = root.id


def _drop(workflow: Workflow, top: Task, removed: list[Task]) -> None:
    """Remove a detached subtree from the workflow's task index."""
    stack = [top]
    while stack:
        task = stack.pop()
        stack.extend(task.children)
        removed.append(workflow.tasks.pop(task.id))


def _forget_subprocesses_of(workflow: BpmnWorkflow, gone: set[Any]) -> None:
    """Sub-processes whose calling task was dropped, and theirs in turn."""
    while gone:
        dead = [task_id for task_id in workflow.subprocesses if task_id in gone]
        gone = set()
        for task_id in dead:
            gone.update(workflow.subprocesses.pop(task_id).tasks)
