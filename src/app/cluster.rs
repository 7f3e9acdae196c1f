//! The current context's cluster in the app: its store fed by the watchers, the namespaces
//! shown (`:ns`, remembered per context), discovered middleware as inventory instances, and
//! connecting one (port-forward + plugin) when it is selected.

use super::effect::{ClusterRequest, Effect};
use super::instance_view::InstanceView;
use super::state::AppState;
use crate::kube::{Discovered, NamespaceScope, PodRow, StoreUpdate, discover};

/// What ties an inventory instance to the cluster it was discovered in.
#[derive(Debug, Clone, PartialEq)]
pub struct KubeBinding {
    pub context: String,
    pub found: Discovered,
    /// A port-forward and a collector were asked for.
    pub attached: bool,
    /// The port-forward's state, as the controller reports it.
    pub forward: Option<String>,
    /// What its pod logs stream (`:logs …`).
    pub log_options: crate::kube::logs::LogOptions,
    /// Each pod's log stream state (`following`, `reconnecting in 1 s` …).
    pub log_states: std::collections::BTreeMap<String, String>,
    /// Lines the log queue dropped because the screen was slower than the streams.
    pub log_dropped: u64,
    /// The workload is no longer in the cluster.
    pub gone: bool,
    /// When the cursor was last on it (least recently selected is disconnected first).
    pub last_selected: u64,
    /// The workload left the cluster: the slot is vacant (hidden), to be reused.
    pub removed: bool,
    /// Attachments whose tasks may still send events (each ends with `AppEvent::Released`);
    /// the slot is reused only at zero.
    pub live: u32,
}

impl AppState {
    /// The namespaces shown for the current context.
    pub fn namespace_scope(&self) -> NamespaceScope {
        self.kube
            .current
            .as_ref()
            .and_then(|c| self.kube.scopes.get(c).cloned())
            .unwrap_or_default()
    }

    /// A batch from the watchers of `context` (ignored when it is no longer current); the
    /// effects disconnect the instances whose workloads left.
    pub(super) fn apply_kube(
        &mut self,
        context: &str,
        updates: Vec<StoreUpdate>,
    ) -> (bool, Vec<Effect>) {
        if self.kube.current.as_deref() != Some(context) {
            return (false, Vec::new());
        }
        for u in updates {
            self.kube.store.apply(u);
        }
        (true, self.refresh_discovery())
    }

    /// Discovery over the store (when it changed): new instances get an inventory entry (a
    /// vacant slot when one is free), known ones their pod status and Kubernetes findings,
    /// vanished ones are disconnected and removed. Returns the disconnections.
    pub fn refresh_discovery(&mut self) -> Vec<Effect> {
        if self.kube.store.generation == self.kube.discovered_generation {
            return Vec::new();
        }
        self.kube.discovered_generation = self.kube.store.generation;
        let Some(context) = self.kube.current.clone() else {
            return Vec::new();
        };
        let scope = self.namespace_scope();
        // Only the namespaces a batch touched are looked at again (all after a re-list).
        let dirty = self.kube.store.take_dirty();
        let hints = crate::plugins::registry::discovery_hints();
        let found: Vec<Discovered> = match &dirty {
            None => discover(&self.kube.store, &hints),
            Some(set) => set
                .iter()
                .filter(|ns| scope.contains(ns))
                .flat_map(|ns| crate::kube::discovery::discover_in(&self.kube.store, ns, &hints))
                .collect(),
        }
        .into_iter()
        .filter(|d| scope.contains(&d.namespace))
        .collect();
        let synced = self.kube.store.is_synced();
        let mut vanished = Vec::new();
        for (i, view) in self.instances.iter().enumerate() {
            if let Some(b) = &view.kube
                && !b.removed
                && b.context == context
                && synced
                && scope.contains(&b.found.namespace)
                && dirty
                    .as_ref()
                    .is_none_or(|d| d.contains(&b.found.namespace))
                && !found.iter().any(|d| d.same(&b.found))
            {
                vanished.push(i);
            }
        }
        let effects: Vec<Effect> = vanished
            .into_iter()
            .filter_map(|i| self.remove_instance(i))
            .collect();
        for d in found {
            let findings = crate::kube::rules::instance_findings(&d, &self.kube.store);
            let existing = self.instances.iter().position(|v| {
                v.kube
                    .as_ref()
                    .is_some_and(|b| !b.removed && b.context == context && b.found.same(&d))
            });
            let i = match existing {
                Some(i) => i,
                None => {
                    let config = crate::services::cluster::connect::discovered_config(&context, &d);
                    let mut view = InstanceView::new(
                        config,
                        "via port-forward (select to connect)".into(),
                        self.kube.history,
                        self.kube.log_lines,
                    );
                    view.kube = Some(KubeBinding {
                        context: context.clone(),
                        found: d.clone(),
                        attached: false,
                        forward: None,
                        log_options: crate::kube::logs::LogOptions {
                            tail_lines: Some(200),
                            ..Default::default()
                        },
                        log_states: Default::default(),
                        log_dropped: 0,
                        gone: false,
                        last_selected: 0,
                        removed: false,
                        live: 0,
                    });
                    match self.reusable_slot() {
                        Some(slot) => {
                            self.instances[slot] = view;
                            slot
                        }
                        None => {
                            self.instances.push(view);
                            self.instances.len() - 1
                        }
                    }
                }
            };
            let view = &mut self.instances[i];
            if let Some(b) = &mut view.kube {
                b.found = d;
                b.gone = false;
            }
            view.set_kube_findings(findings);
        }
        effects
    }

    /// The instances the inventory shows, in no particular order (counting needs no sort).
    fn shown_instances(&self) -> impl Iterator<Item = usize> + '_ {
        let scope = self.namespace_scope();
        let current = self.kube.current.clone();
        let q = self.inventory_filter.trim().to_lowercase();
        self.instances.iter().enumerate().filter_map(move |(i, v)| {
            let matches = q.is_empty()
                || v.config.name.to_lowercase().contains(&q)
                || v.config.kind.as_str().contains(&q)
                || v.config.group_name().to_lowercase().contains(&q);
            let shown = match &v.kube {
                None => true,
                Some(b) => {
                    !b.removed
                        && Some(&b.context) == current.as_ref()
                        && scope.contains(&b.found.namespace)
                }
            };
            (matches && shown).then_some(i)
        })
    }

    /// The instances the inventory shows, in its order: those discovered in the current
    /// context within the namespaces shown, by namespace, then the configured ones (grouped).
    pub fn visible_instances(&self) -> Vec<usize> {
        let (mut kube, out): (Vec<usize>, Vec<usize>) = self
            .shown_instances()
            .partition(|&i| self.instances[i].kube.is_some());
        let by_name = |a: &usize, b: &usize| {
            alphanumeric_sort::compare_str(
                &self.instances[*a].config.name,
                &self.instances[*b].config.name,
            )
        };
        match self.inventory_sort {
            super::InventorySort::Name => kube.sort_by(by_name),
            super::InventorySort::Severity => {
                // One badge per instance, not two per comparison.
                let mut keyed: Vec<(std::cmp::Reverse<u8>, usize)> = kube
                    .iter()
                    .map(|&i| (std::cmp::Reverse(self.instances[i].badge().rank()), i))
                    .collect();
                keyed.sort_by(|(ra, a), (rb, b)| ra.cmp(rb).then_with(|| by_name(a, b)));
                kube = keyed.into_iter().map(|(_, i)| i).collect();
            }
        }
        // The tree: the current context's namespaces first, right under the contexts.
        kube.extend(out);
        kube
    }

    /// `/` in the inventory: shows the instances whose name, namespace or kind contains
    /// `query` (any case); the selection moves to the first shown if its instance is hidden.
    pub(super) fn apply_inventory_filter(&mut self, query: &str) {
        self.inventory_filter = query.to_string();
        self.keep_selection_visible();
    }

    /// How many instances of the inventory are critical (or down) and how many warn: the
    /// status bar's fleet count.
    pub fn fleet_counts(&self) -> (usize, usize) {
        let mut counts = (0, 0);
        for i in self.shown_instances() {
            match self.instances[i].badge() {
                super::Badge::Critical | super::Badge::Down => counts.0 += 1,
                super::Badge::Warning => counts.1 += 1,
                super::Badge::Ok | super::Badge::Connecting => {}
            }
        }
        counts
    }

    /// `:ns all` / `:ns NAME [NAME…]`: the namespaces shown for the current context, remembered
    /// for it; the watchers are restarted for exactly those namespaces.
    pub(super) fn switch_namespaces(&mut self, arg: &str) -> Vec<Effect> {
        let Some(context) = self.kube.current.clone() else {
            self.notices
                .push("ns: no Kubernetes context (no kubeconfig)".to_string());
            return Vec::new();
        };
        let scope = NamespaceScope::parse(arg);
        self.kube.scopes.insert(context.clone(), scope.clone());
        self.notices.retain(|n| !n.starts_with("ns: "));
        self.restart_watch(context, scope)
    }

    /// A fresh store for `context` and an effect to (re)start its watchers.
    pub(super) fn restart_watch(&mut self, context: String, scope: NamespaceScope) -> Vec<Effect> {
        self.kube.store = Default::default();
        self.kube.discovered_generation = u64::MAX;
        self.keep_selection_visible();
        vec![Effect::Cluster(ClusterRequest::Watch { context, scope })]
    }

    /// After the visible set changed: select the first visible instance if the selected one
    /// is hidden.
    pub(super) fn keep_selection_visible(&mut self) {
        let visible = self.visible_instances();
        if !visible.contains(&self.selected)
            && let Some(first) = visible.first()
        {
            self.selected = *first;
            self.findings_selected = 0;
        }
    }

    /// A selected discovered instance not yet connected: ask for its port-forward, collector
    /// and pod logs (see `attach_now` for when, and the cap).
    pub(super) fn attach_selected(&mut self) -> Vec<Effect> {
        let Some(view) = self.instances.get_mut(self.selected) else {
            return Vec::new();
        };
        let Some(b) = view.kube.as_mut() else {
            return Vec::new();
        };
        if b.attached || b.gone || b.removed {
            return Vec::new();
        }
        b.attached = true;
        b.live += 1;
        b.forward = Some("opening port-forward…".into());
        let attach = Effect::Cluster(ClusterRequest::Attach {
            instance: self.selected,
            context: b.context.clone(),
            found: b.found.clone(),
            config: view.config.clone(),
        });
        let mut out = vec![attach];
        out.extend(self.pod_logs_effect(self.selected));
        out
    }

    /// The effect (re)starting an instance's log streams with its current options.
    fn pod_logs_effect(&self, instance: usize) -> Option<Effect> {
        let b = self.instances.get(instance)?.kube.as_ref()?;
        let pods = match &b.log_options.pod {
            Some(p) => vec![p.clone()],
            None => b.found.pods.clone(),
        };
        Some(Effect::Cluster(ClusterRequest::PodLogs {
            instance,
            context: b.context.clone(),
            namespace: b.found.namespace.clone(),
            pods,
            options: b.log_options.clone(),
        }))
    }

    /// `:logs …`: display toggles (`timestamps`, `wrap`) for any instance; stream options
    /// (`since 5m`, `tail 100`, `previous`, `pod NAME` …) for a discovered one, which restarts
    /// its streams.
    pub(super) fn logs_command(&mut self, args: &str) -> Vec<Effect> {
        self.notices.retain(|n| !n.starts_with("logs: "));
        match args.trim() {
            "timestamps" => {
                self.log_display.timestamps = !self.log_display.timestamps;
                return Vec::new();
            }
            "wrap" => {
                self.log_display.wrap = !self.log_display.wrap;
                return Vec::new();
            }
            _ => {}
        }
        let instance = self.selected;
        let Some(b) = self
            .instances
            .get_mut(instance)
            .and_then(|v| v.kube.as_mut())
        else {
            self.notices
                .push("logs: stream options are for instances discovered in Kubernetes".into());
            return Vec::new();
        };
        match b.log_options.parse_into(args) {
            Ok(o) => {
                if let Some(p) = &o.pod
                    && !b.found.pods.contains(p)
                {
                    let pods = b.found.pods.join(", ");
                    self.notices
                        .push(format!("logs: no pod `{p}` in this instance ({pods})"));
                    return Vec::new();
                }
                b.log_options = o;
                b.log_states.clear();
                if !b.attached {
                    return Vec::new();
                }
                self.pod_logs_effect(instance).into_iter().collect()
            }
            Err(e) => {
                self.notices.push(if e.starts_with("logs: ") {
                    e
                } else {
                    format!("logs: {e}")
                });
                Vec::new()
            }
        }
    }

    /// Pod log lines into the instance's logs pane (source `name/pod`, so each pod gets its
    /// colour), stream states and dropped-line counts into its binding.
    pub(super) fn apply_pod_logs(
        &mut self,
        instance: usize,
        event: crate::kube::logs::PodLogEvent,
    ) {
        use crate::kube::logs::PodLogEvent;
        let Some(view) = self.instances.get_mut(instance) else {
            return;
        };
        match event {
            PodLogEvent::Lines(lines) => {
                for l in lines {
                    let level = crate::model::LogLevel::guess(&l.text);
                    let source: std::sync::Arc<str> =
                        std::sync::Arc::from(format!("{}/{}", view.config.name, l.pod));
                    view.logs.push(l.at, source, level, l.text);
                }
            }
            PodLogEvent::Dropped(n) => {
                if let Some(b) = &mut view.kube {
                    b.log_dropped += n;
                }
            }
            PodLogEvent::State { pod, text } => {
                if let Some(b) = &mut view.kube {
                    b.log_states.insert(pod, text);
                }
            }
        }
    }

    /// The controller's news about a discovered instance: its forward's state, and once the
    /// forward is up the URL the plugin uses.
    pub(super) fn apply_attached(
        &mut self,
        instance: usize,
        url: Option<String>,
        forward: String,
        login: Option<crate::services::ResolvedLogin>,
    ) {
        let Some(view) = self.instances.get_mut(instance) else {
            return;
        };
        if let Some(url) = url {
            view.config.url = url;
            view.endpoint = format!("{} (port-forward)", view.config.endpoint());
        }
        // The instance's config is the one place its login lives: the collector was built from
        // it, and the AI's tools, the repair plans (whose own-account guard compares with its
        // user) and the executor's write backend are built from it too.
        if let (Some(login), Some(_)) = (login, &view.kube) {
            view.config.username = login.username;
            view.config.password_value = login.password;
        }
        if let Some(b) = &mut view.kube {
            b.forward = Some(forward);
        }
    }

    /// The pods shown in the pods overlay: in the namespaces shown, matching `filter` (a
    /// substring of `namespace/name`, of the status or of the node, any case), in
    /// namespace/name order — the store's own order, so nothing is sorted per keystroke.
    pub fn pod_rows(&self, filter: &str) -> Vec<&PodRow> {
        let scope = self.namespace_scope();
        let q = filter.trim().to_lowercase();
        self.kube
            .store
            .pods
            .values()
            .filter(|p| scope.contains(&p.namespace))
            .filter(|p| {
                q.is_empty()
                    || p.name.contains(&q)
                    || p.namespace.contains(&q)
                    || (q.contains('/') && format!("{}/{}", p.namespace, p.name).contains(&q))
                    || p.status.to_lowercase().contains(&q)
                    || p.node.as_deref().is_some_and(|n| n.contains(&q))
            })
            .collect()
    }
}
