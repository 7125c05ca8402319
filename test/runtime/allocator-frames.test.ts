import { describe, expect, it } from 'vitest';
import { baseName, isAllocatorName } from '../../src/wasm/runtime/allocator-frames.js';

describe('allocator frame names', () => {
  it('recognises C, C++ and Rust allocator functions', () => {
    for (const n of ['malloc', 'calloc', 'realloc', 'dlmalloc', 'aligned_alloc', 'posix_memalign', 'internal_memalign',
      'operator new(unsigned long)', 'operator new[](unsigned long)', 'operator new(unsigned long, std::align_val_t)',
      '_Znwm', '_Znam', '__rust_alloc', '__rdl_alloc', 'alloc::alloc::alloc', 'alloc::alloc::exchange_malloc',
      'std::__2::__libcpp_allocate(unsigned long, unsigned long)',
      'void* std::__2::__libcpp_operator_new<unsigned long>(unsigned long)',
      'std::__2::allocator<int>::allocate(unsigned long)',
      'std::__2::allocator_traits<std::__2::allocator<int> >::allocate(std::__2::allocator<int>&, unsigned long)',
      '<alloc::alloc::Global as core::alloc::Allocator>::allocate']) {
      expect(isAllocatorName(n), n).toBe(true);
    }
  });

  it('leaves program functions alone', () => {
    for (const n of ['make_lost', 'strdup', 'main', '__original_main', 'malloc_wrapper_of_mine', 'Widget::Widget()',
      'std::__2::vector<int>::vector(unsigned long)', 'std::__2::vector<int, std::__2::allocator<int> >::__vallocate(unsigned long)',
      'void* my_allocate<int>(int)', 'operator()', null, '']) {
      expect(isAllocatorName(n), String(n)).toBe(false);
    }
  });

  it('strips parameter lists', () => {
    expect(baseName('operator new(unsigned long)')).toBe('operator new');
    expect(baseName('foo')).toBe('foo');
  });
});
