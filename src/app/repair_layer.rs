//! The repair modal as a layer: it holds the pending step and consumes every key while open
//! (gitui's confirm popup). Its buttons become effects the executor carries out; the results
//! come back as `RepairEvent`s (see `repair_modal.rs`).

use crossterm::event::KeyEvent;

use super::effect::{Effect, RepairEffect};
use super::layer::{Layer, Outcome};
use super::repair_modal::{ModalButton, RepairModal, StepPhase};
use super::state::AppState;
use crate::keymap::{Action, Section};
use crate::repair::{Confirmation, Risk};

impl RepairModal {
    /// Moves the button focus, wrapping.
    fn move_focus(&mut self, delta: isize) {
        let n = self.buttons().len();
        if n > 0 {
            self.button = (self.button as isize + delta).rem_euclid(n as isize) as usize;
        }
    }

    /// Carries out a button (Enter on it, or its shortcut key when it is on screen).
    pub fn press(&mut self, button: ModalButton) -> Outcome {
        if !self.buttons().contains(&button) {
            return Outcome::stay();
        }
        let Some(step) = self.step().cloned() else {
            return Outcome::close();
        };
        let i = self.index;
        match button {
            ModalButton::Apply => {
                let prepared = self.steps[i].prepared.clone();
                self.steps[i].phase = StepPhase::Running;
                let confirmation = Confirmation {
                    typed_name: (step.risk == Risk::Dangerous).then(|| self.typed.clone()),
                };
                Outcome::Stay(vec![Effect::Repair(RepairEffect::Execute {
                    instance: self.instance,
                    index: i,
                    step,
                    confirmation,
                    prepared,
                })])
            }
            ModalButton::Skip => {
                self.steps[i].phase = StepPhase::Skipped;
                let mut effects = vec![Effect::Repair(RepairEffect::Skip { step })];
                effects.extend(self.advance());
                Outcome::Stay(effects)
            }
            ModalButton::Abort => {
                Outcome::Close(vec![Effect::Repair(RepairEffect::Abort { step })])
            }
            ModalButton::RollBack => {
                let Some(prepared) = self.steps[i].prepared.clone() else {
                    return Outcome::stay();
                };
                self.steps[i].phase = StepPhase::RollingBack;
                Outcome::Stay(vec![Effect::Repair(RepairEffect::Rollback {
                    instance: self.instance,
                    index: i,
                    step,
                    prepared,
                })])
            }
            ModalButton::Next => Outcome::Stay(self.advance()),
            ModalButton::Close => Outcome::close(),
        }
    }

    /// On to the next step (preparing it), or past the last one.
    fn advance(&mut self) -> Vec<Effect> {
        self.index += 1;
        self.button = 0;
        self.typed.clear();
        self.show_rollback = false;
        match self.plan.steps.get(self.index) {
            Some(step) => vec![Effect::Repair(RepairEffect::Prepare {
                instance: self.instance,
                index: self.index,
                step: step.clone(),
            })],
            None => Vec::new(),
        }
    }

    /// Esc: aborts the rest of the plan (audited) unless the step is under way or done.
    fn escape(&self) -> Outcome {
        let pending = self.state().is_some_and(|s| {
            matches!(
                s.phase,
                StepPhase::Preparing | StepPhase::Ready | StepPhase::PrepareFailed(_)
            )
        });
        match self.step() {
            Some(step) if pending => Outcome::Close(vec![Effect::Repair(RepairEffect::Abort {
                step: step.clone(),
            })]),
            _ => Outcome::close(),
        }
    }
}

impl Layer for RepairModal {
    fn section(&self) -> Section {
        Section::Repair
    }

    fn typing_first(&self) -> bool {
        self.wants_name()
    }

    fn on_action(&mut self, action: Action, _app: &mut AppState) -> Outcome {
        match action {
            Action::Close => self.escape(),
            Action::Submit => match self.focused() {
                Some(b) => self.press(b),
                None => Outcome::stay(),
            },
            Action::FocusNext | Action::SelectNext => {
                self.move_focus(1);
                Outcome::stay()
            }
            Action::FocusPrev | Action::SelectPrev => {
                self.move_focus(-1);
                Outcome::stay()
            }
            Action::RepairConfirm => self.press(ModalButton::Apply),
            Action::RepairSkip => self.press(ModalButton::Skip),
            Action::RepairRollback => self.press(ModalButton::RollBack),
            Action::ToggleRollback => {
                self.show_rollback = !self.show_rollback;
                Outcome::stay()
            }
            _ => Outcome::stay(),
        }
    }

    /// Only a dangerous step waiting for the instance name takes text.
    fn on_key(&mut self, key: KeyEvent, _app: &mut AppState) -> Outcome {
        use crossterm::event::{KeyCode, KeyModifiers};
        let plain = !key
            .modifiers
            .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT);
        if self.wants_name() && plain {
            match key.code {
                KeyCode::Char(c) => self.typed.push(c),
                KeyCode::Backspace => {
                    self.typed.pop();
                }
                _ => {}
            }
        }
        Outcome::stay()
    }
}

#[cfg(test)]
mod tests;
