//! When a discovered instance is connected (port-forward + collector + pod logs) and how many
//! are at once: the cursor passing over an instance opens nothing; it connects on Enter or once
//! the cursor has rested on it (`kubernetes.attach_delay_ms`, a timer event through the loop);
//! past `kubernetes.max_attached` the least recently selected one is disconnected. A workload
//! that left the cluster is disconnected and its slot vacated, to be reused by a later one once
//! its tasks have ended (`AppEvent::Released`), so stale events never reach a new occupant.

use std::time::Duration;

use super::effect::{ClusterRequest, Effect};
use super::state::AppState;

/// How the notice of the cap biting begins.
const CAP_NOTICE: &str = "attached ";

/// The attach policy's settings and bookkeeping (part of `KubeView`).
#[derive(Debug, Clone)]
pub struct AttachPolicy {
    /// How long the cursor rests on an instance before it is connected.
    pub delay: Duration,
    /// Discovered instances connected at once at most.
    pub max_attached: usize,
    /// The instance waiting for its rest timer, with the timer's generation.
    pending: Option<(usize, u64)>,
    generation: u64,
    /// Ticks at each selection, for least-recently-selected order.
    clock: u64,
    /// Instances disconnected to stay within `max_attached`, this session.
    pub evicted: u64,
}

impl Default for AttachPolicy {
    fn default() -> Self {
        AttachPolicy {
            delay: Duration::from_millis(400),
            max_attached: 8,
            pending: None,
            generation: 0,
            clock: 0,
            evicted: 0,
        }
    }
}

impl AttachPolicy {
    /// The instance whose rest timer is running, if any.
    pub fn pending(&self) -> Option<usize> {
        self.pending.map(|(i, _)| i)
    }
}

impl AppState {
    /// After a key or a cluster batch: the selected discovered instance, if not connected, is
    /// connected once the cursor rests on it (a timer is asked for; a running timer for it
    /// keeps running). Moving elsewhere drops the pending attach.
    pub(super) fn schedule_attach(&mut self) -> Vec<Effect> {
        let selected = self.selected;
        let policy = &mut self.kube.attach;
        let wants = match self
            .instances
            .get_mut(selected)
            .and_then(|v| v.kube.as_mut())
        {
            Some(b) if !b.removed => {
                policy.clock += 1;
                b.last_selected = policy.clock;
                !b.attached && !b.gone
            }
            _ => false,
        };
        if !wants {
            policy.pending = None;
            return Vec::new();
        }
        if policy.delay.is_zero() {
            return self.attach_now();
        }
        if policy.pending.is_some_and(|(i, _)| i == selected) {
            return Vec::new();
        }
        policy.generation += 1;
        policy.pending = Some((selected, policy.generation));
        vec![Effect::Cluster(ClusterRequest::AttachAfter {
            instance: selected,
            generation: policy.generation,
            delay: policy.delay,
        })]
    }

    /// A rest timer fired: connect if it is the current one and the cursor is still there.
    pub(super) fn attach_due(&mut self, instance: usize, generation: u64) -> (bool, Vec<Effect>) {
        if self.kube.attach.pending != Some((instance, generation)) {
            return (false, Vec::new());
        }
        self.kube.attach.pending = None;
        if self.selected != instance {
            return (false, Vec::new());
        }
        let effects = self.attach_now();
        (!effects.is_empty(), effects)
    }

    /// Enter/Tab from the inventory, the pods overlay, or a rest timer: connect the selected discovered instance now, disconnecting the
    /// least recently selected ones past the cap first.
    pub(super) fn attach_now(&mut self) -> Vec<Effect> {
        self.kube.attach.pending = None;
        let connectable = self
            .instances
            .get(self.selected)
            .and_then(|v| v.kube.as_ref())
            .is_some_and(|b| !b.attached && !b.gone && !b.removed);
        if !connectable {
            return Vec::new();
        }
        let mut effects = self.make_room();
        effects.extend(self.attach_selected());
        effects
    }

    /// Disconnects least recently selected instances (never the selected one) until one more
    /// fits under `max_attached`; says so in a notice with the count.
    fn make_room(&mut self) -> Vec<Effect> {
        let max = self.kube.attach.max_attached.max(1);
        let mut effects = Vec::new();
        let mut names = Vec::new();
        loop {
            let attached: Vec<(usize, u64)> = self
                .instances
                .iter()
                .enumerate()
                .filter_map(|(i, v)| {
                    let b = v.kube.as_ref()?;
                    (b.attached && i != self.selected).then_some((i, b.last_selected))
                })
                .collect();
            if attached.len() < max {
                break;
            }
            let Some(&(lru, _)) = attached.iter().min_by_key(|(_, t)| *t) else {
                break;
            };
            names.push(self.instances[lru].config.name.clone());
            effects.extend(self.detach_instance(lru));
        }
        if !names.is_empty() {
            self.kube.attach.evicted += names.len() as u64;
            // The count first: the status bar shows a notice's beginning.
            self.notices.retain(|n| !n.starts_with(CAP_NOTICE));
            self.notices.push(format!(
                "{CAP_NOTICE}{max}/{max} — detached {} (least recently used; kubernetes.max_attached)",
                names.join(", ")
            ));
        }
        effects
    }

    /// Disconnects a discovered instance: its forward, collector and log streams stop; events
    /// its tasks still send are ignored from here on.
    pub(super) fn detach_instance(&mut self, instance: usize) -> Option<Effect> {
        let view = self.instances.get_mut(instance)?;
        let b = view.kube.as_mut()?;
        if !b.attached {
            return None;
        }
        b.attached = false;
        b.forward = None;
        b.log_states.clear();
        view.health = crate::services::Health::Connecting;
        view.endpoint = "via port-forward (select to connect)".into();
        Some(Effect::Cluster(ClusterRequest::Detach { instance }))
    }

    /// Discovered instances connected now.
    pub fn attached_count(&self) -> usize {
        self.instances
            .iter()
            .filter(|v| v.kube.as_ref().is_some_and(|b| b.attached))
            .count()
    }

    /// A workload left the cluster: disconnect its instance and vacate its slot (its metrics,
    /// logs and chat are dropped; the slot stays hidden until reused).
    pub(super) fn remove_instance(&mut self, instance: usize) -> Option<Effect> {
        let detach = self.detach_instance(instance);
        let view = self.instances.get_mut(instance)?;
        let mut binding = view.kube.take()?;
        binding.removed = true;
        binding.gone = true;
        binding.log_states.clear();
        let mut vacant =
            super::instance_view::InstanceView::new(view.config.clone(), String::new(), 1, 1);
        vacant.kube = Some(binding);
        *view = vacant;
        if self.kube.attach.pending() == Some(instance) {
            self.kube.attach.pending = None;
        }
        detach
    }

    /// A vacated slot a new instance may take: its tasks have ended, and no open repair or
    /// answer in progress still points at it.
    pub(super) fn reusable_slot(&self) -> Option<usize> {
        let repair = self.repair().map(|m| m.instance);
        self.instances.iter().enumerate().position(|(i, v)| {
            v.kube.as_ref().is_some_and(|b| b.removed && b.live == 0)
                && repair != Some(i)
                && self.chat.generating != Some(i)
        })
    }

    /// An attachment's tasks have all ended.
    pub(super) fn released(&mut self, instance: usize) {
        if let Some(b) = self
            .instances
            .get_mut(instance)
            .and_then(|v| v.kube.as_mut())
        {
            b.live = b.live.saturating_sub(1);
        }
    }

    /// Whether an event from an instance's tasks is stale: a discovered instance that is not
    /// connected (disconnected, removed, or its slot reused) takes none.
    pub(super) fn is_detached_instance(&self, instance: usize) -> bool {
        self.instances
            .get(instance)
            .and_then(|v| v.kube.as_ref())
            .is_some_and(|b| !b.attached)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kube::StoreUpdate;
    use crate::kube::store::{PodRow, Resource, WorkloadRow};
    use crate::services::AppEvent;
    use kubestack_playground::kube_objects::{self as obj, PodHealth};

    /// A state on context `t` with `n` discovered one-pod Redis workloads `cache-N`.
    fn state(n: usize) -> AppState {
        let mut s = AppState::new(Vec::new(), crate::keymap::Keymap::builtin(), Vec::new());
        s.kube.current = Some("t".into());
        let mut updates: Vec<StoreUpdate> = Resource::ALL
            .iter()
            .map(|r| StoreUpdate::Relist(*r, None))
            .collect();
        for i in 0..n {
            let name = format!("cache-{i}");
            updates.push(StoreUpdate::Workload(WorkloadRow::from_statefulset(
                &obj::statefulset("ns", &name, "redis", "redis:7", 6379, 1),
            )));
            updates.push(StoreUpdate::Pod(PodRow::from_pod(&obj::statefulset_pod(
                "ns",
                &name,
                "redis",
                "redis:7",
                6379,
                0,
                PodHealth::Ready,
            ))));
        }
        updates.extend(Resource::ALL.iter().map(|r| StoreUpdate::Synced(*r, None)));
        s.handle_event(AppEvent::Kube {
            context: "t".into(),
            updates,
        });
        s
    }

    fn timer(effects: &[Effect]) -> Option<(usize, u64)> {
        effects.iter().find_map(|e| match e {
            Effect::Cluster(ClusterRequest::AttachAfter {
                instance,
                generation,
                ..
            }) => Some((*instance, *generation)),
            _ => None,
        })
    }

    #[test]
    fn a_stale_rest_timer_is_ignored_without_a_redraw() {
        let mut s = state(3);
        s.kube.attach.pending = None;
        let key = |c| {
            AppEvent::Input(crossterm::event::Event::Key(
                crossterm::event::KeyEvent::new(c, crossterm::event::KeyModifiers::NONE),
            ))
        };
        let (_, e1) = s.handle_event(key(crossterm::event::KeyCode::Char('j')));
        let first = timer(&e1).expect("a timer for the instance under the cursor");
        let (_, e2) = s.handle_event(key(crossterm::event::KeyCode::Char('j')));
        let second = timer(&e2).expect("a new timer after moving");
        assert!(second.1 > first.1);
        for e in e1.iter().chain(&e2) {
            assert!(
                !matches!(e, Effect::Cluster(ClusterRequest::Attach { .. })),
                "{e:?}"
            );
        }
        let (dirty, effects) = s.handle_event(AppEvent::AttachDue {
            instance: first.0,
            generation: first.1,
        });
        assert!(!dirty && effects.is_empty(), "{effects:?}");
        assert_eq!(s.attached_count(), 0);
        let (dirty, effects) = s.handle_event(AppEvent::AttachDue {
            instance: second.0,
            generation: second.1,
        });
        assert!(dirty);
        assert!(
            matches!(effects.first(), Some(Effect::Cluster(ClusterRequest::Attach { instance, .. })) if *instance == second.0)
        );
        assert_eq!(s.attached_count(), 1);
    }

    #[test]
    fn past_the_cap_the_least_recently_selected_is_detached() {
        let mut s = state(4);
        s.kube.attach.max_attached = 2;
        let order = s.visible_instances();
        for &i in &order[..3] {
            s.selected = i;
            s.schedule_attach();
            s.attach_now();
        }
        assert_eq!(s.attached_count(), 2);
        let first = s.instances[order[0]].kube.as_ref().unwrap();
        assert!(!first.attached, "the least recently selected goes");
        assert!(
            s.notices
                .iter()
                .any(|n| n.starts_with("attached 2/2 — detached ns/cache-0"))
        );
        // The vacated slot is reused only after the release.
        s.handle_event(AppEvent::Kube {
            context: "t".into(),
            updates: vec![
                StoreUpdate::WorkloadDeleted("StatefulSet", ("ns".into(), "cache-1".into())),
                StoreUpdate::PodDeleted(("ns".into(), "cache-1-0".into())),
            ],
        });
        assert!(s.instances[order[1]].kube.as_ref().unwrap().removed);
        assert_eq!(s.reusable_slot(), None, "its tasks may still send events");
        s.handle_event(AppEvent::Released { instance: order[1] });
        assert_eq!(s.reusable_slot(), Some(order[1]));
    }
}
