//! What the chat view keeps between frames for one conversation. The view renders while it
//! only borrows the state, so the cache sits in a cell of the instance; its rows are the
//! view's own type, opaque here (the view is a layer above the app), and the app reads only
//! the viewport of the last frame, which scrolling needs.

use std::any::Any;

/// The chat view's cache for one conversation, and the viewport it last drew.
#[derive(Default)]
pub struct ChatRenderCache {
    /// Top row, total rows and height of the last frame.
    viewport: (usize, usize, usize),
    /// Rows rendered and kept so far (for tests and benchmarks).
    cached_rows: usize,
    /// The view's rendered rows, of the view's type.
    view: Option<Box<dyn Any + Send>>,
}

impl std::fmt::Debug for ChatRenderCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChatRenderCache")
            .field("viewport", &self.viewport)
            .field("cached_rows", &self.cached_rows)
            .finish()
    }
}

impl ChatRenderCache {
    /// Top row, total rows and height of the last frame.
    pub fn viewport(&self) -> (usize, usize, usize) {
        self.viewport
    }

    /// Rows rendered and cached so far (for tests and benchmarks).
    pub fn cached_rows(&self) -> usize {
        self.cached_rows
    }

    /// Records what the last frame showed (the view, after drawing).
    pub fn record_frame(&mut self, viewport: (usize, usize, usize), cached_rows: usize) {
        self.viewport = viewport;
        self.cached_rows = cached_rows;
    }

    /// The view's own cache, created empty on first use (or if another type was kept).
    pub fn view_state<T: Default + Send + 'static>(&mut self) -> &mut T {
        let slot = self.view.get_or_insert_with(|| Box::<T>::default());
        if !slot.is::<T>() {
            *slot = Box::<T>::default();
        }
        slot.downcast_mut::<T>()
            .expect("the slot holds a T: it was replaced by one just above")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_view_state_persists_and_the_viewport_is_recorded() {
        let mut cache = ChatRenderCache::default();
        cache.view_state::<Vec<u32>>().push(7);
        assert_eq!(cache.view_state::<Vec<u32>>(), &[7]);
        assert!(
            cache.view_state::<String>().is_empty(),
            "another type starts afresh"
        );
        cache.record_frame((3, 10, 5), 10);
        assert_eq!((cache.viewport(), cache.cached_rows()), ((3, 10, 5), 10));
    }
}
