//! Passwords: argon2id hashes in PHC strings, computed off the async runtime with bounded
//! concurrency, and the rules a new password must meet.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::{Duration, Instant};

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use secrecy::{ExposeSecret, SecretString};
use tokio::sync::Semaphore;

/// Fewest characters a password may have.
pub const MIN_CHARS: usize = 8;
/// Most characters a password may have; longer ones are refused, never truncated.
pub const MAX_CHARS: usize = 128;

/// One of OWASP's equivalent argon2id configurations: 7 MiB of memory, five passes, one lane.
/// OWASP rates it the same defence as 19 MiB with two passes (the time-memory product is about
/// the same, 35 against 38 MiB-passes, and so is the CPU a check costs); it is chosen because each
/// check in flight holds its whole memory, which dominated the server's peak RSS during sign-ins.
/// Hashes made with other parameters still verify and are replaced at the next sign-in.
pub const MEMORY_KIB: u32 = 7_168;
/// Passes over memory.
pub const ITERATIONS: u32 = 5;
/// Lanes.
pub const PARALLELISM: u32 = 1;

/// How long a hash may wait for a free slot before the caller is told to retry.
const QUEUE_TIMEOUT: Duration = Duration::from_secs(5);

/// How many characters of a new password the strength estimate reads. zxcvbn's work grows much
/// faster than the length, and anyone may send a new password (`register`), so its input is
/// bounded; a password whose first 64 characters are hard to guess is hard to guess.
pub const STRENGTH_CHARS: usize = 64;

/// Why a password or a hashing request was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PasswordError {
    /// Fewer than [`MIN_CHARS`] characters.
    #[error("must be at least {MIN_CHARS} characters")]
    TooShort,
    /// More than [`MAX_CHARS`] characters.
    #[error("must be at most {MAX_CHARS} characters")]
    TooLong,
    /// Found in lists of common passwords, or otherwise easy to guess.
    #[error("is too easy to guess{0}")]
    TooGuessable(String),
    /// Every hashing slot stayed busy: too many sign-ins at once.
    #[error("too many sign-ins at once")]
    Busy,
    /// The hash could not be computed (a bug, or a stored hash that is not a PHC string).
    #[error("password hashing failed: {0}")]
    Internal(String),
}

/// Checks a new password against the length and guessability rules. `context` holds words the
/// password must not lean on, such as the user's e-mail address and name.
pub fn check_new(password: &str, context: &[&str]) -> Result<(), PasswordError> {
    let length = password.chars().count();
    if length < MIN_CHARS {
        return Err(PasswordError::TooShort);
    }
    if length > MAX_CHARS {
        return Err(PasswordError::TooLong);
    }
    // zxcvbn knows the common-password lists; score 0 and 1 are "guessable within 10^6 tries".
    let judged = match password.char_indices().nth(STRENGTH_CHARS) {
        Some((end, _)) => &password[..end],
        None => password,
    };
    let estimate = zxcvbn::zxcvbn(judged, context);
    if estimate.score() < zxcvbn::Score::Two {
        let hint = estimate
            .feedback()
            .and_then(|feedback| feedback.warning())
            .map(|warning| format!(": {warning}"))
            .unwrap_or_default();
        return Err(PasswordError::TooGuessable(hint));
    }
    Ok(())
}

/// The outcome of checking a password against a stored hash.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Verification {
    /// Whether the password matches.
    pub matches: bool,
    /// Whether the stored hash uses other parameters than today's and should be replaced.
    pub needs_rehash: bool,
}

/// Hashes and verifies passwords on threads of their own below the request workers' priority, a
/// bounded number at a time, so that a flood of sign-ins cannot take every core from queries. Sign-in checks and new passwords
/// (their strength estimate and hash, for registrations and password changes) have pools of
/// their own: a flood of registrations, which anyone may send, never delays a sign-in.
#[derive(Clone)]
pub struct Passwords {
    /// The threads hashes and checks run on, below the request workers' priority.
    threads: Arc<HashingThreads>,
    sign_in_slots: Arc<Semaphore>,
    new_password_slots: Arc<Semaphore>,
    /// Hashes and checks waiting for a slot now.
    waiting: Arc<AtomicUsize>,
    /// Told how long each waited for its slot (metrics), once someone asks to be.
    wait_observer: Arc<OnceLock<WaitObserver>>,
    /// A real hash of a random password, verified against when the account does not exist so
    /// that unknown e-mails and wrong passwords take the same time.
    dummy_hash: Arc<str>,
}

/// Told how long a hash or check waited for its slot.
pub type WaitObserver = Box<dyn Fn(Duration) + Send + Sync>;

/// Counts a waiter for as long as it lives.
struct Waiting<'a>(&'a AtomicUsize);

impl<'a> Waiting<'a> {
    fn new(count: &'a AtomicUsize) -> Self {
        count.fetch_add(1, Ordering::Relaxed);
        Self(count)
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

fn argon2() -> Result<Argon2<'static>, PasswordError> {
    let params =
        Params::new(MEMORY_KIB, ITERATIONS, PARALLELISM, None).map_err(|e| PasswordError::Internal(e.to_string()))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

fn hash_blocking(password: &str) -> Result<String, PasswordError> {
    let salt = SaltString::generate(&mut OsRng);
    let hash =
        argon2()?.hash_password(password.as_bytes(), &salt).map_err(|e| PasswordError::Internal(e.to_string()))?;
    Ok(hash.to_string())
}

fn verify_blocking(password: &str, stored: &str) -> Result<Verification, PasswordError> {
    let parsed = PasswordHash::new(stored).map_err(|e| PasswordError::Internal(e.to_string()))?;
    let matches = argon2()?.verify_password(password.as_bytes(), &parsed).is_ok();
    let current = Params::try_from(&parsed).ok();
    let needs_rehash = parsed.algorithm.as_str() != "argon2id"
        || parsed.version != Some(Version::V0x13.into())
        || current.is_none_or(|p| p.m_cost() != MEMORY_KIB || p.t_cost() != ITERATIONS || p.p_cost() != PARALLELISM);
    Ok(Verification { matches, needs_rehash })
}

/// How long a hash may wait for an idle core before it is also run at the lowest ordinary
/// priority: while reads keep every core busy, a hash left to idle time alone would take seconds.
const HURRY_AFTER: Duration = Duration::from_millis(250);

/// The threads hashes and checks run on. Argon2 takes tens of milliseconds of a core per
/// sign-in, and a flood of sign-ins must yield the cores to the request workers' reads and to
/// the database rather than share them. So each hash first runs on a thread scheduled only when
/// no ordinary thread wants the core (Linux's `SCHED_IDLE`, which any ordinary thread preempts at
/// once, the database's included; niceness alone was not enough: a nice thread still runs out its
/// time slice, and only yields within the server's own scheduling group). A hash not done after
/// [`HURRY_AFTER`] is also started on a thread at niceness 10 (a tenth of a worker's weight),
/// and the first answer wins: one person signing in while reads keep every core busy waits a
/// quarter of a second more, not seconds (at niceness 19 it still waited seconds, measured),
/// and a flood gets about four a second per core pair. One hurried thread serves them all, so at
/// most one hash at a time runs above idle priority however many sign-ins are checked at once.
/// (tokio's blocking threads, which hashes ran on before, take the workers' priority.)
/// Elsewhere, or where the system refuses `SCHED_IDLE` (some containers), the first copy runs at
/// the lowest niceness.
struct HashingThreads {
    idle: rayon::ThreadPool,
    hurried: rayon::ThreadPool,
}

impl HashingThreads {
    fn new(count: usize) -> Result<Self, PasswordError> {
        Ok(Self {
            idle: pool("password-hash", count, lower_to_idle)?,
            hurried: pool("password-hash-hurried", 1, lower_to_niceness_10)?,
        })
    }
}

fn pool(name: &'static str, count: usize, lower: fn()) -> Result<rayon::ThreadPool, PasswordError> {
    rayon::ThreadPoolBuilder::new()
        .num_threads(count)
        .thread_name(move |index| format!("{name}-{index}"))
        .start_handler(move |_| lower())
        // A panic in a hash drops its answer, which its caller reports; the thread goes on.
        .panic_handler(|_| {})
        .build()
        .map_err(|error| PasswordError::Internal(error.to_string()))
}

fn lower_to_idle() {
    #[cfg(target_os = "linux")]
    {
        use thread_priority::unix::{NormalThreadSchedulePolicy, ThreadSchedulePolicy};
        let idle = ThreadSchedulePolicy::Normal(NormalThreadSchedulePolicy::Idle);
        let thread = thread_priority::unix::thread_native_id();
        if thread_priority::unix::set_thread_priority_and_policy(thread, thread_priority::ThreadPriority::Min, idle)
            .is_ok()
        {
            return;
        }
    }
    lower_to_lowest_niceness();
}

fn lower_to_lowest_niceness() {
    let _ = thread_priority::set_current_thread_priority(thread_priority::ThreadPriority::Min);
}

fn lower_to_niceness_10() {
    // The crate maps its portable 0–99 scale onto niceness 19…-20; 22 is niceness 10.
    if let Ok(value) = thread_priority::ThreadPriorityValue::try_from(22u8) {
        let _ = thread_priority::set_current_thread_priority(thread_priority::ThreadPriority::Crossplatform(value));
    }
}

impl Passwords {
    /// A hasher that checks at most `concurrency` sign-ins at once, and beside them works on at
    /// most `concurrency` new passwords.
    pub fn new(concurrency: usize) -> Result<Self, PasswordError> {
        let random = crate::refresh::generate().hash;
        Ok(Self {
            threads: Arc::new(HashingThreads::new(concurrency.max(1) * 2)?),
            sign_in_slots: Arc::new(Semaphore::new(concurrency.max(1))),
            new_password_slots: Arc::new(Semaphore::new(concurrency.max(1))),
            waiting: Arc::new(AtomicUsize::new(0)),
            wait_observer: Arc::new(OnceLock::new()),
            dummy_hash: hash_blocking(&random)?.into(),
        })
    }

    /// How many hashes and checks are waiting for a slot now.
    pub fn waiting(&self) -> usize {
        self.waiting.load(Ordering::Relaxed)
    }

    /// Has `observer` told how long each hash or check waited for its slot (the first observer
    /// set stays).
    pub fn observe_waits(&self, observer: WaitObserver) {
        let _ = self.wait_observer.set(observer);
    }

    async fn run<T: Send + 'static>(
        &self,
        slots: &Arc<Semaphore>,
        work: impl Fn() -> Result<T, PasswordError> + Send + Sync + 'static,
    ) -> Result<T, PasswordError> {
        self.run_hurrying_after(slots, HURRY_AFTER, work).await
    }

    /// Runs `work` on an idle thread under one of `slots`, and also on a hurried one when it has
    /// not answered within `hurry_after` (see [`HashingThreads`]); the first answer is returned.
    async fn run_hurrying_after<T: Send + 'static>(
        &self,
        slots: &Arc<Semaphore>,
        hurry_after: Duration,
        work: impl Fn() -> Result<T, PasswordError> + Send + Sync + 'static,
    ) -> Result<T, PasswordError> {
        let queued = Instant::now();
        let permit = {
            let _waiting = Waiting::new(&self.waiting);
            tokio::time::timeout(QUEUE_TIMEOUT, slots.clone().acquire_owned()).await
        };
        if let Some(observer) = self.wait_observer.get() {
            observer(queued.elapsed());
        }
        let _permit = permit.map_err(|_| PasswordError::Busy)?.map_err(|_| PasswordError::Busy)?;
        let (done, mut answer) = tokio::sync::oneshot::channel();
        let done = Arc::new(Mutex::new(Some(done)));
        let work = Arc::new(work);
        // Each copy runs unless the other has already answered; the first to finish answers.
        let job = move || {
            let (done, work) = (done.clone(), work.clone());
            move || {
                let answered = || done.lock().unwrap_or_else(PoisonError::into_inner).is_none();
                if answered() {
                    return;
                }
                let result = work();
                if let Some(done) = done.lock().unwrap_or_else(PoisonError::into_inner).take() {
                    let _ = done.send(result);
                }
            }
        };
        self.threads.idle.spawn(job());
        let answer = match tokio::time::timeout(hurry_after, &mut answer).await {
            Ok(answer) => answer,
            Err(_) => {
                self.threads.hurried.spawn(job());
                answer.await
            }
        };
        answer.map_err(|_| PasswordError::Internal("a password hash failed on its thread".into()))?
    }

    /// Checks a new password with [`check_new`] and hashes it, both on a blocking thread under
    /// one of the bounded slots: the strength estimate can cost as much as a hash (over a second
    /// for some 128-character inputs), so it must not run on the async workers either.
    pub async fn check_and_hash(&self, password: SecretString, context: Vec<String>) -> Result<String, PasswordError> {
        self.run(&self.new_password_slots, move || {
            let context: Vec<&str> = context.iter().map(String::as_str).collect();
            check_new(password.expose_secret(), &context)?;
            hash_blocking(password.expose_secret())
        })
        .await
    }

    /// Hashes `password` (already checked with [`check_new`]) into a PHC string.
    pub async fn hash(&self, password: SecretString) -> Result<String, PasswordError> {
        self.run(&self.new_password_slots, move || hash_blocking(password.expose_secret())).await
    }

    /// Checks `password` against `stored`; with no stored hash (no such account) it does the
    /// same work against a dummy hash and reports no match.
    pub async fn verify(&self, password: SecretString, stored: Option<String>) -> Result<Verification, PasswordError> {
        let known = stored.is_some();
        let hash = stored.unwrap_or_else(|| self.dummy_hash.to_string());
        let verification =
            self.run(&self.sign_in_slots, move || verify_blocking(password.expose_secret(), &hash)).await?;
        Ok(if known { verification } else { Verification { matches: false, needs_rehash: false } })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn length_is_counted_in_characters_not_bytes() {
        assert_eq!(check_new("short", &[]), Err(PasswordError::TooShort));
        // Eight characters of two bytes each: long enough.
        assert_ne!(check_new("ééééééée", &[]), Err(PasswordError::TooShort));
        let long: String = std::iter::repeat_n('ü', MAX_CHARS + 1).collect();
        assert_eq!(check_new(&long, &[]), Err(PasswordError::TooLong));
    }

    #[test]
    fn common_and_personal_passwords_are_refused() {
        for password in ["password", "password123", "qwertyuiop", "12345678", "iloveyou1"] {
            assert!(matches!(check_new(password, &[]), Err(PasswordError::TooGuessable(_))), "{password}");
        }
        assert!(matches!(
            check_new("ada.lovelace", &["ada.lovelace@example.com", "ada.lovelace"]),
            Err(PasswordError::TooGuessable(_))
        ));
        assert_eq!(check_new("correct horse battery staple", &[]), Ok(()));
    }

    /// The calling thread's scheduling policy and niceness: fields 41 and 19 of
    /// /proc/thread-self/stat (after the parenthesised command name, which may hold spaces).
    #[cfg(target_os = "linux")]
    fn policy_and_niceness() -> (i64, i64) {
        let stat = std::fs::read_to_string("/proc/thread-self/stat").unwrap_or_default();
        let fields: Vec<&str> = stat.rsplit_once(')').map_or("", |(_, rest)| rest).split_whitespace().collect();
        let field = |index: usize| fields.get(index).and_then(|field| field.parse().ok()).unwrap_or(-1);
        (field(38), field(16))
    }

    #[cfg(target_os = "linux")]
    const SCHED_OTHER: i64 = 0;
    #[cfg(target_os = "linux")]
    const SCHED_IDLE: i64 = 5;

    #[cfg(target_os = "linux")]
    #[tokio::test]
    async fn hashes_run_only_when_no_ordinary_thread_wants_the_core() -> Result<(), PasswordError> {
        assert_eq!(policy_and_niceness(), (SCHED_OTHER, 0), "the test's own thread is an ordinary one");
        let passwords = Passwords::new(1)?;
        let on_hashing_thread = passwords.run(&passwords.sign_in_slots, || Ok(policy_and_niceness().0)).await?;
        assert_eq!(on_hashing_thread, SCHED_IDLE, "the hashing thread runs under SCHED_IDLE");
        Ok(())
    }

    #[cfg(target_os = "linux")]
    #[tokio::test]
    async fn a_hash_the_idle_thread_has_not_finished_is_hurried_at_niceness_10() -> Result<(), PasswordError> {
        // The idle thread's copy never finishes (as when reads keep every core busy) until the
        // test ends; the hurried copy answers.
        let (release, stuck) = std::sync::mpsc::channel::<()>();
        let stuck = Mutex::new(stuck);
        let passwords = Passwords::new(1)?;
        let work = move || {
            let here = policy_and_niceness();
            if here.0 == SCHED_IDLE {
                let _ = stuck.lock().map(|stuck| stuck.recv());
            }
            Ok(here)
        };
        let answered = passwords.run_hurrying_after(&passwords.sign_in_slots, Duration::from_millis(20), work).await?;
        assert_eq!(answered, (SCHED_OTHER, 10), "the hurried copy ran at niceness 10");
        drop(release);
        Ok(())
    }

    #[tokio::test]
    async fn a_hash_verifies_its_password_only() -> Result<(), PasswordError> {
        let passwords = Passwords::new(2)?;
        let hash = passwords.hash(SecretString::from("violet staircase 42")).await?;
        assert!(hash.starts_with("$argon2id$v=19$m=7168,t=5,p=1$"));
        let right = passwords.verify(SecretString::from("violet staircase 42"), Some(hash.clone())).await?;
        assert_eq!(right, Verification { matches: true, needs_rehash: false });
        let wrong = passwords.verify(SecretString::from("violet staircase 43"), Some(hash)).await?;
        assert!(!wrong.matches);
        let unknown = passwords.verify(SecretString::from("violet staircase 42"), None).await?;
        assert!(!unknown.matches);
        Ok(())
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_sign_in_is_checked_while_new_passwords_queue() -> Result<(), PasswordError> {
        let passwords = Passwords::new(1)?;
        let stored = passwords.hash(SecretString::from("violet staircase 42")).await?;
        // Each costs a strength estimate and a hash: what a registration flood sends.
        let lookalike: String = "4@!|1$5+0".chars().cycle().take(MAX_CHARS).collect();
        let registrations: Vec<_> = (0..3)
            .map(|_| {
                let (passwords, password) = (passwords.clone(), lookalike.clone());
                tokio::spawn(async move { passwords.check_and_hash(SecretString::from(password), Vec::new()).await })
            })
            .collect();
        while passwords.waiting() < 2 {
            tokio::task::yield_now().await;
        }
        let verification = passwords.verify(SecretString::from("violet staircase 42"), Some(stored)).await?;
        assert!(verification.matches);
        let unfinished = registrations.iter().filter(|registration| !registration.is_finished()).count();
        assert!(unfinished >= 1, "the sign-in waited for every registration queued before it");
        for registration in registrations {
            let _ = registration.await;
        }
        Ok(())
    }

    #[tokio::test]
    async fn hashes_with_old_parameters_ask_to_be_replaced() -> Result<(), PasswordError> {
        let salt = SaltString::generate(&mut OsRng);
        let weak = Argon2::new(
            Algorithm::Argon2id,
            Version::V0x13,
            Params::new(4096, 1, 1, None).map_err(|e| PasswordError::Internal(e.to_string()))?,
        );
        let old = weak
            .hash_password(b"violet staircase 42", &salt)
            .map_err(|e| PasswordError::Internal(e.to_string()))?
            .to_string();
        let verification = Passwords::new(1)?.verify(SecretString::from("violet staircase 42"), Some(old)).await?;
        assert_eq!(verification, Verification { matches: true, needs_rehash: true });
        Ok(())
    }
}
