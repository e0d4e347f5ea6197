#include "llamaport/threadpool.hpp"

#ifdef LLAMAPORT_THREADS
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>
#endif

namespace llamaport {

#ifdef LLAMAPORT_THREADS

// Workers sleep until a new job (a new generation number) is posted, then take indices from a
// shared counter; the last one to finish wakes the caller.
struct ThreadPool::Shared {
    std::mutex mutex;
    std::condition_variable job_posted, job_done;
    Call call = nullptr;
    const void* task = nullptr;
    size_t count = 0;
    std::atomic<size_t> next{0};
    size_t busy = 0;
    unsigned long generation = 0;
    bool stopping = false;
    std::vector<std::thread> workers;

    void run_indices() {
        for (size_t i = next.fetch_add(1); i < count; i = next.fetch_add(1)) call(task, i);
    }

    void worker_loop() {
        unsigned long seen = 0;
        while (true) {
            {
                std::unique_lock<std::mutex> lock(mutex);
                job_posted.wait(lock, [&] { return stopping || generation != seen; });
                if (stopping) return;
                seen = generation;
            }
            run_indices();
            std::lock_guard<std::mutex> lock(mutex);
            if (--busy == 0) job_done.notify_one();
        }
    }
};

ThreadPool::ThreadPool(int threads) : threads_(threads < 1 ? 1 : threads), shared_(new Shared) {
    for (int i = 1; i < threads_; i++)
        shared_->workers.emplace_back([s = shared_.get()] { s->worker_loop(); });
}

ThreadPool::~ThreadPool() {
    {
        std::lock_guard<std::mutex> lock(shared_->mutex);
        shared_->stopping = true;
    }
    shared_->job_posted.notify_all();
    for (std::thread& t : shared_->workers) t.join();
}

void ThreadPool::run(size_t count, Call call, const void* task) {
    if (threads_ == 1 || count <= 1) {
        for (size_t i = 0; i < count; i++) call(task, i);
        return;
    }
    Shared& s = *shared_;
    {
        std::lock_guard<std::mutex> lock(s.mutex);
        s.call = call;
        s.task = task;
        s.count = count;
        s.next = 0;
        s.busy = s.workers.size();
        s.generation++;
    }
    s.job_posted.notify_all();
    s.run_indices();
    std::unique_lock<std::mutex> lock(s.mutex);
    s.job_done.wait(lock, [&] { return s.busy == 0; });
}

int ThreadPool::hardware_threads() {
    const unsigned n = std::thread::hardware_concurrency();
    return n == 0 ? 1 : int(n);
}

#else  // built without threads

struct ThreadPool::Shared {};

ThreadPool::ThreadPool(int) : threads_(1) {}
ThreadPool::~ThreadPool() = default;

void ThreadPool::run(size_t count, Call call, const void* task) {
    for (size_t i = 0; i < count; i++) call(task, i);
}

int ThreadPool::hardware_threads() { return 1; }

#endif

}  // namespace llamaport
