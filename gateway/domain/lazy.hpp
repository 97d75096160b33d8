// A member allocated when first written: a pointer's size until then.
// Reading an unallocated one reads an empty T (shared, never written).
// Copies are deep, so the owner keeps value semantics.
#pragma once

#include <memory>

namespace gw::domain {

template <class T>
class lazy {
 public:
  lazy() = default;
  lazy(const lazy& o) : p_(o.p_ ? std::make_unique<T>(*o.p_) : nullptr) {}
  lazy& operator=(const lazy& o) {
    if (this != &o) p_ = o.p_ ? std::make_unique<T>(*o.p_) : nullptr;
    return *this;
  }
  lazy(lazy&&) noexcept = default;
  lazy& operator=(lazy&&) noexcept = default;
  ~lazy() = default;

  const T& operator*() const noexcept { return p_ ? *p_ : none(); }
  const T* operator->() const noexcept { return &**this; }
  bool allocated() const noexcept { return p_ != nullptr; }

  void reset() noexcept { p_.reset(); }  // back to unallocated

  // The T to write to, allocated on first use.
  T& get() {
    if (!p_) p_ = std::make_unique<T>();
    return *p_;
  }

 private:
  static const T& none() {
    static const T empty{};
    return empty;
  }

  std::unique_ptr<T> p_;
};

}  // namespace gw::domain
