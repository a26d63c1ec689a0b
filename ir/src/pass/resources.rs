//! Typed resources a driver gives the passes it runs: data that is not IR but that a pass
//! needs, such as the calibration set or the target description. One value per type; a pass
//! asks `cx.resource::<T>()` and reports a located error when its driver did not provide it.

use rustc_hash::FxHashMap;
use std::any::{Any, TypeId};
use std::rc::Rc;

/// Cheap to clone (values are shared): analyses keep the resources they were computed with.
#[derive(Default, Clone)]
pub struct Resources {
    by_type: FxHashMap<TypeId, Rc<dyn Any>>,
}

impl Resources {
    pub fn new() -> Resources {
        Resources::default()
    }

    /// Provides `value` (replacing an earlier value of its type).
    pub fn insert<T: Any>(&mut self, value: T) -> &mut Resources {
        self.by_type.insert(TypeId::of::<T>(), Rc::new(value));
        self
    }

    pub fn get<T: Any>(&self) -> Option<&T> {
        self.by_type.get(&TypeId::of::<T>())?.downcast_ref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_value_per_type() {
        let mut r = Resources::new();
        assert!(r.get::<u32>().is_none());
        r.insert(3u32).insert("text");
        r.insert(4u32);
        assert_eq!(r.get::<u32>(), Some(&4));
        assert_eq!(r.get::<&str>(), Some(&"text"));
    }
}
