// A small pool of worker threads. A job is split into as many pieces as the pool has threads,
// each thread taking the same piece every time (so each streams the same rows of a matrix from
// one job to the next, and results never depend on timing). Between jobs, workers spin briefly
// before they sleep, so that the many short jobs of a forward pass do not pay a wake-up each.
// Built with LLAMAPORT_THREADS off, everything runs on the calling thread.
#pragma once

#include <cstddef>
#include <memory>

namespace llamaport {

class ThreadPool {
public:
    explicit ThreadPool(int threads);
    ~ThreadPool();
    ThreadPool(const ThreadPool&) = delete;
    ThreadPool& operator=(const ThreadPool&) = delete;

    int size() const { return threads_; }

    // Calls task(thread) once for every thread in [0, size()) and returns when all calls are
    // done; the calling thread is thread 0. Nothing is allocated.
    template <class Task>
    void run_on_all(const Task& task) {
        run([](const void* t, size_t thread) { (*static_cast<const Task*>(t))(thread); }, &task);
    }

    // Calls task(i) for every i in [0, count): thread t takes the t-th of size() contiguous
    // shares of the indices.
    template <class Task>
    void parallel_for(size_t count, const Task& task) {
        const size_t n = size_t(threads_);
        run_on_all([&](size_t thread) {
            for (size_t i = count * thread / n; i < count * (thread + 1) / n; i++) task(i);
        });
    }

    // Threads the hardware offers (1 when unknown or built without threads).
    static int hardware_threads();

private:
    using Call = void (*)(const void* task, size_t thread);
    void run(Call call, const void* task);
    struct Shared;
    int threads_;
    std::unique_ptr<Shared> shared_;
};

}  // namespace llamaport
