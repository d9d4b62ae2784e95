// Linked into every target of a ThreadSanitizer build (SLUICE_SANITIZE=thread) only.
//
// librdkafka runs on C11 threads (thrd_create, mtx_lock, cnd_wait, ...). glibc implements those by
// calling its pthread functions internally, not through their symbols, so GCC 12's
// ThreadSanitizer sees neither librdkafka's threads start (it crashes in their first allocation)
// nor its locks (it then reports races that the locks prevent). These definitions take precedence
// over glibc's for every library of the process and call the pthread functions through their
// symbols, which the sanitizer intercepts. Types and results are glibc's: mtx_t, cnd_t and
// once_flag have the layout of pthread_mutex_t, pthread_cond_t and pthread_once_t, and a thread's
// int result travels as its void* result.

#include <pthread.h>
#include <threads.h>

#include <cerrno>
#include <cstdint>
#include <new>

namespace {

int result_of(int error) {
  switch (error) {
  case 0:
    return thrd_success;
  case ENOMEM:
  case EAGAIN:
    return thrd_nomem;
  case ETIMEDOUT:
    return thrd_timedout;
  case EBUSY:
    return thrd_busy;
  default:
    return thrd_error;
  }
}

pthread_mutex_t* native(mtx_t* m) { return reinterpret_cast<pthread_mutex_t*>(m); }
pthread_cond_t* native(cnd_t* c) { return reinterpret_cast<pthread_cond_t*>(c); }

struct thread_start {
  thrd_start_t function;
  void* argument;
};

void* run(void* start) {
  const thread_start s = *static_cast<thread_start*>(start);
  delete static_cast<thread_start*>(start);
  return reinterpret_cast<void*>(static_cast<std::intptr_t>(s.function(s.argument)));
}

} // namespace

extern "C" {

int thrd_create(thrd_t* thread, thrd_start_t function, void* argument) {
  auto* start = new (std::nothrow) thread_start{function, argument};
  if (start == nullptr)
    return thrd_nomem;
  const int error = pthread_create(thread, nullptr, run, start);
  if (error != 0)
    delete start;
  return result_of(error);
}

int thrd_join(thrd_t thread, int* result) {
  void* value = nullptr;
  const int error = pthread_join(thread, &value);
  if (error == 0 && result != nullptr)
    *result = static_cast<int>(reinterpret_cast<std::intptr_t>(value));
  return result_of(error);
}

int thrd_detach(thrd_t thread) { return result_of(pthread_detach(thread)); }

int mtx_init(mtx_t* mutex, int type) {
  pthread_mutexattr_t attributes;
  pthread_mutexattr_init(&attributes);
  if (type & mtx_recursive)
    pthread_mutexattr_settype(&attributes, PTHREAD_MUTEX_RECURSIVE);
  const int error = pthread_mutex_init(native(mutex), &attributes);
  pthread_mutexattr_destroy(&attributes);
  return result_of(error);
}

int mtx_lock(mtx_t* mutex) { return result_of(pthread_mutex_lock(native(mutex))); }
int mtx_trylock(mtx_t* mutex) { return result_of(pthread_mutex_trylock(native(mutex))); }
int mtx_timedlock(mtx_t* __restrict mutex, const struct timespec* __restrict until) {
  return result_of(pthread_mutex_timedlock(native(mutex), until));
}
int mtx_unlock(mtx_t* mutex) { return result_of(pthread_mutex_unlock(native(mutex))); }
void mtx_destroy(mtx_t* mutex) { pthread_mutex_destroy(native(mutex)); }

int cnd_init(cnd_t* condition) { return result_of(pthread_cond_init(native(condition), nullptr)); }
int cnd_signal(cnd_t* condition) { return result_of(pthread_cond_signal(native(condition))); }
int cnd_broadcast(cnd_t* condition) { return result_of(pthread_cond_broadcast(native(condition))); }
int cnd_wait(cnd_t* condition, mtx_t* mutex) { return result_of(pthread_cond_wait(native(condition), native(mutex))); }
int cnd_timedwait(cnd_t* __restrict condition, mtx_t* __restrict mutex, const struct timespec* __restrict until) {
  return result_of(pthread_cond_timedwait(native(condition), native(mutex), until));
}
void cnd_destroy(cnd_t* condition) { pthread_cond_destroy(native(condition)); }

void call_once(once_flag* flag, void (*function)(void)) {
  pthread_once(reinterpret_cast<pthread_once_t*>(flag), function);
}

} // extern "C"
