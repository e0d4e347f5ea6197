// A small pool of worker threads for splitting matrix-vector products by rows. Each index is
// computed by exactly one thread in the same way, so results never depend on the thread count.
// Built with LLAMAPORT_THREADS off, it runs everything on the calling thread.
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

    // Calls task(i) for every i in [0, count) and returns when all calls are done. The calling
    // thread takes part. The task is called through a plain pointer: nothing is allocated.
    template <class Task>
    void parallel_for(size_t count, const Task& task) {
        run(count, [](const void* t, size_t i) { (*static_cast<const Task*>(t))(i); }, &task);
    }

    // Threads the hardware offers (1 when unknown or built without threads).
    static int hardware_threads();

private:
    using Call = void (*)(const void* task, size_t index);
    void run(size_t count, Call call, const void* task);
    struct Shared;
    int threads_;
    std::unique_ptr<Shared> shared_;
};

}  // namespace llamaport
