//! Learning-rate schedules: step decay, cosine annealing, linear warm-up.

use super::Optimizer;
use crate::backend::Backend;

/// A learning rate as a function of the epoch (0 for the first).
pub trait LrSchedule {
    /// The learning rate in effect during `epoch`, for a base rate `base_lr`.
    ///
    /// The built-in schedules panic here if their settings are invalid
    /// ([`check`](LrSchedule::check)): they are plain structs, so this is the first place
    /// the settings can be refused when a schedule is used without a [`Scheduler`].
    fn lr_at(&self, epoch: usize, base_lr: f64) -> f64;

    /// Whether the settings make sense (what PyTorch's constructor checks, and lengths of
    /// at least one epoch): the reason if not. [`Scheduler`] checks it before use.
    fn check(&self) -> Result<(), String> {
        Ok(())
    }
}

/// Panics at the caller's line if `schedule`'s settings are invalid: a zero `step_size`
/// would otherwise divide by zero, and a zero `t_max` or `total_iters` give NaN rates.
#[track_caller]
fn assert_valid(schedule: &impl LrSchedule) {
    if let Err(why) = schedule.check() {
        panic!("{why}");
    }
}

/// A schedule chosen at run time.
impl<S: LrSchedule + ?Sized> LrSchedule for Box<S> {
    #[track_caller]
    fn lr_at(&self, epoch: usize, base_lr: f64) -> f64 {
        (**self).lr_at(epoch, base_lr)
    }

    fn check(&self) -> Result<(), String> {
        (**self).check()
    }
}

/// Multiplies the rate by `gamma` every `step_size` epochs (PyTorch's `StepLR`).
#[derive(Clone, Copy, Debug)]
pub struct StepLr {
    /// Epochs between decays.
    pub step_size: usize,
    /// The decay factor.
    pub gamma: f64,
}

impl LrSchedule for StepLr {
    #[track_caller]
    fn lr_at(&self, epoch: usize, base_lr: f64) -> f64 {
        assert_valid(self);
        // Repeated multiplication, as PyTorch's recursive update computes it.
        (0..epoch / self.step_size).fold(base_lr, |lr, _| lr * self.gamma)
    }

    fn check(&self) -> Result<(), String> {
        if self.step_size == 0 {
            return Err("StepLr needs a step_size of at least 1".to_string());
        }
        Ok(())
    }
}

/// Cosine annealing from the base rate down to `eta_min` over `t_max` epochs (PyTorch's
/// `CosineAnnealingLR`, which rises again after `t_max`).
#[derive(Clone, Copy, Debug)]
pub struct CosineAnnealingLr {
    /// The half period, in epochs.
    pub t_max: usize,
    /// The lowest rate.
    pub eta_min: f64,
}

impl LrSchedule for CosineAnnealingLr {
    #[track_caller]
    fn lr_at(&self, epoch: usize, base_lr: f64) -> f64 {
        assert_valid(self);
        let phase = std::f64::consts::PI * epoch as f64 / self.t_max as f64;
        self.eta_min + (base_lr - self.eta_min) * (1.0 + phase.cos()) / 2.0
    }

    fn check(&self) -> Result<(), String> {
        if self.t_max == 0 {
            return Err("CosineAnnealingLr needs a t_max of at least 1".to_string());
        }
        if self.eta_min.is_nan() || self.eta_min < 0.0 {
            return Err(format!(
                "CosineAnnealingLr needs eta_min ≥ 0, got {}",
                self.eta_min
            ));
        }
        Ok(())
    }
}

/// Linear warm-up: the rate's factor goes from `start_factor` to `end_factor` over
/// `total_iters` epochs, then stays (PyTorch's `LinearLR`).
#[derive(Clone, Copy, Debug)]
pub struct LinearLr {
    /// The factor at epoch 0.
    pub start_factor: f64,
    /// The factor from `total_iters` on.
    pub end_factor: f64,
    /// The length of the ramp, in epochs.
    pub total_iters: usize,
}

impl LrSchedule for LinearLr {
    #[track_caller]
    fn lr_at(&self, epoch: usize, base_lr: f64) -> f64 {
        assert_valid(self);
        let t = epoch.min(self.total_iters) as f64 / self.total_iters as f64;
        base_lr * (self.start_factor + (self.end_factor - self.start_factor) * t)
    }

    fn check(&self) -> Result<(), String> {
        if !(self.start_factor > 0.0 && self.start_factor <= 1.0) {
            return Err(format!(
                "LinearLr needs 0 < start_factor ≤ 1, got {}",
                self.start_factor
            ));
        }
        if !(0.0..=1.0).contains(&self.end_factor) {
            return Err(format!(
                "LinearLr needs 0 ≤ end_factor ≤ 1, got {}",
                self.end_factor
            ));
        }
        if self.total_iters == 0 {
            return Err("LinearLr needs total_iters of at least 1".to_string());
        }
        Ok(())
    }
}

/// Applies a schedule to an optimizer, one epoch at a time (PyTorch's pattern: call
/// [`step`](Scheduler::step) after each epoch).
///
/// ```
/// use ferrograd::optim::{LinearLr, Optimizer, Scheduler, Sgd, StepLr};
/// use ferrograd::Variable;
/// use ferrograd_scalar::Scalar;
///
/// let w = Variable::<Scalar<f64>>::scalar(1.0).requires_grad();
/// let mut opt = Sgd::new(vec![w], 0.1);
/// let mut scheduler = Scheduler::new(StepLr { step_size: 2, gamma: 0.5 }, &mut opt);
/// for _ in 0..4 {
///     // ... an epoch of training ...
///     scheduler.step(&mut opt);
/// }
/// assert_eq!(opt.learning_rate(), 0.025); // 0.1 · 0.5 · 0.5
///
/// // A warm-up applies its first factor from the first epoch on.
/// let warm_up = LinearLr { start_factor: 0.25, end_factor: 1.0, total_iters: 3 };
/// let mut opt = Sgd::new(vec![Variable::<Scalar<f64>>::scalar(1.0).requires_grad()], 0.1);
/// let scheduler = Scheduler::new(warm_up, &mut opt);
/// assert_eq!(opt.learning_rate(), 0.025);
///
/// // Resuming at epoch 2 (with what `base_lr` and `epoch` reported when training stopped)
/// // sets the rate for epoch 2.
/// let mut resumed_opt = Sgd::new(vec![Variable::<Scalar<f64>>::scalar(1.0).requires_grad()], 0.1);
/// let resumed = Scheduler::resume(warm_up, scheduler.base_lr(), 2, &mut resumed_opt);
/// assert_eq!(resumed_opt.learning_rate(), resumed.lr());
/// assert!((resumed.lr() - 0.1 * (0.25 + 0.75 * 2.0 / 3.0)).abs() < 1e-15);
/// ```
#[derive(Clone, Debug)]
pub struct Scheduler<S: LrSchedule> {
    schedule: S,
    base_lr: f64,
    epoch: usize,
}

impl<S: LrSchedule> Scheduler<S> {
    /// A scheduler at epoch 0 whose base rate is the optimizer's current rate. It sets the
    /// optimizer's rate to the schedule's rate for epoch 0 (a warm-up's first factor), as
    /// PyTorch's schedulers do when they are made.
    ///
    /// # Panics
    /// If the schedule's settings are invalid ([`LrSchedule::check`]: a `LinearLr` whose
    /// `start_factor` is 0, a `CosineAnnealingLr` with `t_max` 0, ...), or its rate is
    /// negative or NaN, here or at any [`step`](Scheduler::step).
    #[track_caller]
    pub fn new<B: Backend>(schedule: S, optimizer: &mut (impl Optimizer<B> + ?Sized)) -> Self {
        let base_lr = optimizer.learning_rate();
        Self::resume(schedule, base_lr, 0, optimizer)
    }

    /// A scheduler continuing at `epoch` from the base rate `base_lr` (what
    /// [`base_lr`](Scheduler::base_lr) and [`epoch`](Scheduler::epoch) reported when
    /// training stopped). It sets the optimizer's rate for that epoch.
    #[track_caller]
    pub fn resume<B: Backend>(
        schedule: S,
        base_lr: f64,
        epoch: usize,
        optimizer: &mut (impl Optimizer<B> + ?Sized),
    ) -> Self {
        if let Err(why) = schedule.check() {
            panic!("Scheduler: {why}");
        }
        let scheduler = Scheduler {
            schedule,
            base_lr,
            epoch,
        };
        optimizer.set_learning_rate(scheduler.lr());
        scheduler
    }

    /// Moves to the next epoch and sets the optimizer's learning rate for it.
    #[track_caller]
    pub fn step<B: Backend>(&mut self, optimizer: &mut (impl Optimizer<B> + ?Sized)) {
        self.epoch += 1;
        optimizer.set_learning_rate(self.lr());
    }

    /// The rate for the current epoch.
    pub fn lr(&self) -> f64 {
        self.schedule.lr_at(self.epoch, self.base_lr)
    }

    /// The current epoch.
    pub fn epoch(&self) -> usize {
        self.epoch
    }

    /// The base rate the schedule scales.
    pub fn base_lr(&self) -> f64 {
        self.base_lr
    }
}
