//! An endpoint's queue: bounded, first in first out, the oldest dropped when full (a slow
//! receiver loses its oldest events, the registry never waits), drained then closed at
//! shutdown. The
//! sender thread blocks on it; request handlers only ever take its lock for a push.

use std::collections::VecDeque;
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// A bounded queue shared by the emitters and one sender.
pub struct Queue<T> {
    state: Mutex<State<T>>,
    changed: Condvar,
    capacity: usize,
}

struct State<T> {
    items: VecDeque<T>,
    closed: bool,
    /// Stopping: what is queued is still handed out, then `pop` returns `None`.
    draining: bool,
}

impl<T> Queue<T> {
    /// An empty queue holding at most `capacity` items (at least one).
    pub fn new(capacity: usize) -> Queue<T> {
        Queue {
            state: Mutex::new(State {
                items: VecDeque::new(),
                closed: false,
                draining: false,
            }),
            changed: Condvar::new(),
            capacity: capacity.max(1),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State<T>> {
        // A panic while holding the lock leaves the queue itself consistent.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Adds `item`; returns the oldest item when it had to go to make room.
    pub fn push(&self, item: T) -> Option<T> {
        let mut state = self.lock();
        let dropped = if state.items.len() >= self.capacity {
            state.items.pop_front()
        } else {
            None
        };
        state.items.push_back(item);
        drop(state);
        self.changed.notify_all();
        dropped
    }

    /// The next item, waiting for one; `None` once closed, or drained when draining.
    pub fn pop(&self) -> Option<T> {
        let mut state = self.lock();
        loop {
            if state.closed {
                return None;
            }
            if let Some(item) = state.items.pop_front() {
                return Some(item);
            }
            if state.draining {
                return None;
            }
            state = self.changed.wait(state).unwrap_or_else(|e| e.into_inner());
        }
    }

    /// Waits `duration` unless closed or draining first; whether it was (no retry waits
    /// once stopping).
    pub fn sleep(&self, duration: Duration) -> bool {
        let deadline = Instant::now() + duration;
        let mut state = self.lock();
        loop {
            let now = Instant::now();
            let stopping = state.closed || state.draining;
            if stopping || now >= deadline {
                return stopping;
            }
            state = self
                .changed
                .wait_timeout(state, deadline - now)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }

    /// Starts stopping: `pop` hands out what is queued, then `None`; `sleep` returns at once.
    pub fn drain(&self) {
        self.lock().draining = true;
        self.changed.notify_all();
    }

    /// Stops the sender: `pop` and `sleep` return at once; what is left is discarded.
    pub fn close(&self) -> usize {
        let mut state = self.lock();
        state.closed = true;
        let left = state.items.len();
        state.items.clear();
        drop(state);
        self.changed.notify_all();
        left
    }

    /// Items waiting.
    pub fn waiting(&self) -> usize {
        self.lock().items.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn keeps_order_and_drops_the_oldest_when_full() {
        let q = Queue::new(2);
        assert_eq!(q.push(1), None);
        assert_eq!(q.push(2), None);
        assert_eq!(q.push(3), Some(1));
        assert_eq!(q.waiting(), 2);
        assert_eq!(q.pop(), Some(2));
        assert_eq!(q.pop(), Some(3));
    }

    #[test]
    fn close_wakes_a_waiting_sender_and_a_sleeping_one() {
        let q = Arc::new(Queue::<u32>::new(4));
        let waiter = {
            let q = q.clone();
            std::thread::spawn(move || q.pop())
        };
        let sleeper = {
            let q = q.clone();
            std::thread::spawn(move || q.sleep(Duration::from_secs(60)))
        };
        std::thread::sleep(Duration::from_millis(50));
        let start = Instant::now();
        assert_eq!(q.close(), 0);
        assert_eq!(waiter.join().unwrap(), None);
        assert!(sleeper.join().unwrap());
        assert!(start.elapsed() < Duration::from_secs(5));
        assert!(!Queue::<u32>::new(1).sleep(Duration::from_millis(1)));
    }

    #[test]
    fn draining_hands_out_what_is_left_then_stops() {
        let q = Queue::new(4);
        q.push(1);
        q.push(2);
        q.drain();
        assert!(
            q.sleep(Duration::from_secs(60)),
            "no retry waits while draining"
        );
        assert_eq!((q.pop(), q.pop(), q.pop()), (Some(1), Some(2), None));
    }
}
