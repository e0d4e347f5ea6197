#include "llamaport/threadpool.hpp"

#ifdef LLAMAPORT_THREADS
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>
#endif

namespace llamaport {

#ifdef LLAMAPORT_THREADS

namespace {

// How long a worker keeps checking for the next job before it sleeps: longer than the gap
// between two products of a forward pass, short enough not to burn a core between tokens.
constexpr auto spin_time = std::chrono::microseconds(200);

// One step of a busy wait. Not std::this_thread::yield(): on a machine where another process
// wants the core, a yield hands it the rest of a time slice (milliseconds), and a forward pass
// waits like this a hundred times a token.
inline void relax() {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    asm volatile("yield");
#endif
}

}  // namespace

// A job is a new generation number; each worker runs its piece and counts itself done.
struct ThreadPool::Shared {
    std::mutex mutex;
    std::condition_variable wake;
    std::atomic<unsigned long> generation{0};
    std::atomic<size_t> done{0};
    Call call = nullptr;
    const void* task = nullptr;
    std::atomic<bool> stopping{false};
    std::vector<std::thread> workers;

    void worker_loop(size_t thread) {
        unsigned long seen = 0;
        while (true) {
            const auto spin_until = std::chrono::steady_clock::now() + spin_time;
            while (generation.load(std::memory_order_acquire) == seen && !stopping.load() &&
                   std::chrono::steady_clock::now() < spin_until)
                relax();
            if (generation.load(std::memory_order_acquire) == seen && !stopping.load()) {
                std::unique_lock<std::mutex> lock(mutex);
                wake.wait(lock, [&] {
                    return stopping.load() || generation.load(std::memory_order_acquire) != seen;
                });
            }
            if (stopping.load()) return;
            seen = generation.load(std::memory_order_acquire);
            call(task, thread);
            done.fetch_add(1, std::memory_order_acq_rel);
        }
    }
};

ThreadPool::ThreadPool(int threads) : threads_(threads < 1 ? 1 : threads), shared_(new Shared) {
    for (int i = 1; i < threads_; i++)
        shared_->workers.emplace_back([s = shared_.get(), i] { s->worker_loop(size_t(i)); });
}

ThreadPool::~ThreadPool() {
    {
        std::lock_guard<std::mutex> lock(shared_->mutex);
        shared_->stopping = true;
    }
    shared_->wake.notify_all();
    for (std::thread& t : shared_->workers) t.join();
}

void ThreadPool::run(Call call, const void* task) {
    if (threads_ == 1) {
        call(task, 0);
        return;
    }
    Shared& s = *shared_;
    s.call = call;
    s.task = task;
    s.done.store(0, std::memory_order_relaxed);
    {
        // Under the lock, so that a worker about to sleep either sees the new generation or is
        // woken by the notification.
        std::lock_guard<std::mutex> lock(s.mutex);
        s.generation.fetch_add(1, std::memory_order_release);
    }
    s.wake.notify_all();
    call(task, 0);
    const size_t workers = s.workers.size();
    while (s.done.load(std::memory_order_acquire) != workers) relax();
}

int ThreadPool::hardware_threads() {
    const unsigned n = std::thread::hardware_concurrency();
    return n == 0 ? 1 : int(n);
}

#else  // built without threads

struct ThreadPool::Shared {};

ThreadPool::ThreadPool(int) : threads_(1) {}
ThreadPool::~ThreadPool() = default;

void ThreadPool::run(Call call, const void* task) { call(task, 0); }

int ThreadPool::hardware_threads() { return 1; }

#endif

}  // namespace llamaport
