/* poller.py's Poller and Copier in C, built with SIDECARS_COMPILE=1.

   The same interface and the same semantics (tests/ambassador/test_poller.py runs on both).
   What C adds: a reader that is a Copier runs without a call into Python, and its recv and
   send go straight to the kernel, without argument parsing, a buffer export or a round trip
   of the GIL each. In tcp mode that is the whole work of a small read. */

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h>

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define BATCH 512
#define IN_EVENTS (EPOLLIN | EPOLLHUP | EPOLLERR)
#define OUT_EVENTS (EPOLLOUT | EPOLLHUP | EPOLLERR)

/* what a Copier reports to its outcome callback; an error is reported as -errno */
#define COPY_EOF 0
#define COPY_SHORT 1

/* ---- Copier ---------------------------------------------------------------------- */

typedef struct {
    PyObject_HEAD
    int src;
    int dst;
    Py_buffer buf;
    PyObject *outcome;
    PyObject *left;
    long long moved;
    long long copies;
} Copier;

static PyTypeObject CopierType;

static int
copier_init(Copier *self, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"src", "dst", "buf", "outcome", NULL};
    PyObject *src, *dst, *buf, *outcome;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "OOOO", kwlist, &src, &dst, &buf, &outcome))
        return -1;
    if (self->outcome != NULL) {
        PyErr_SetString(PyExc_TypeError, "a Copier is initialised once");
        return -1;
    }
    self->src = PyObject_AsFileDescriptor(src);
    if (self->src < 0)
        return -1;
    self->dst = PyObject_AsFileDescriptor(dst);
    if (self->dst < 0)
        return -1;
    if (!PyCallable_Check(outcome)) {
        PyErr_SetString(PyExc_TypeError, "outcome must be callable");
        return -1;
    }
    if (PyObject_GetBuffer(buf, &self->buf, PyBUF_WRITABLE) < 0)
        return -1;
    if (self->buf.len <= 0) {
        PyBuffer_Release(&self->buf);
        PyErr_SetString(PyExc_ValueError, "the buffer is empty");
        return -1;
    }
    Py_INCREF(outcome);
    self->outcome = outcome;
    Py_INCREF(Py_None);
    self->left = Py_None;
    return 0;
}

static int
copier_report(Copier *self, long code)
{
    PyObject *arg = PyLong_FromLong(code);
    if (arg == NULL)
        return -1;
    /* held for the call: the outcome may close the copier, and with it the last reference
       to a bound method whose object is still running */
    PyObject *outcome = Py_NewRef(self->outcome);
    PyObject *result = PyObject_CallOneArg(outcome, arg);
    Py_DECREF(outcome);
    Py_DECREF(arg);
    if (result == NULL)
        return -1;
    Py_DECREF(result);
    return 0;
}

/* One read and its send; 0, or -1 with an exception set (raised by the outcome callback). */
static int
copier_run(Copier *self)
{
    if (self->outcome == NULL) {
        PyErr_SetString(PyExc_ValueError, "the Copier is closed");
        return -1;
    }
    char *buf = self->buf.buf;
    ssize_t size = recv(self->src, buf, (size_t)self->buf.len, 0);
    if (size < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
            return 0;
        return copier_report(self, -(long)errno);
    }
    if (size == 0)
        return copier_report(self, COPY_EOF);
    self->moved += size;
    self->copies += 1;
    ssize_t sent = send(self->dst, buf, (size_t)size, MSG_NOSIGNAL);
    if (sent < 0) {
        if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
            return copier_report(self, -(long)errno);
        sent = 0;
    }
    if (sent < size) {
        PyObject *left = PyBytes_FromStringAndSize(buf + sent, size - sent);
        if (left == NULL)
            return -1;
        Py_SETREF(self->left, left);
        return copier_report(self, COPY_SHORT);
    }
    return 0;
}

static PyObject *
copier_call(Copier *self, PyObject *args, PyObject *kwds)
{
    if ((args != NULL && PyTuple_GET_SIZE(args)) || (kwds != NULL && PyDict_GET_SIZE(kwds))) {
        PyErr_SetString(PyExc_TypeError, "a Copier takes no arguments");
        return NULL;
    }
    if (copier_run(self) < 0)
        return NULL;
    Py_RETURN_NONE;
}

static PyObject *
copier_close(Copier *self, PyObject *unused)
{
    Py_CLEAR(self->outcome);
    if (self->buf.obj != NULL)
        PyBuffer_Release(&self->buf);
    Py_RETURN_NONE;
}

static int
copier_traverse(Copier *self, visitproc visit, void *arg)
{
    Py_VISIT(self->outcome);
    Py_VISIT(self->left);
    Py_VISIT(self->buf.obj);
    return 0;
}

static int
copier_clear(Copier *self)
{
    Py_XDECREF(copier_close(self, NULL));
    Py_CLEAR(self->left);
    return 0;
}

static void
copier_dealloc(Copier *self)
{
    PyObject_GC_UnTrack(self);
    copier_clear(self);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyMemberDef copier_members[] = {
    {"moved", T_LONGLONG, offsetof(Copier, moved), READONLY, "bytes read"},
    {"copies", T_LONGLONG, offsetof(Copier, copies), READONLY, "reads that moved bytes"},
    {"left", T_OBJECT, offsetof(Copier, left), READONLY, "what the destination did not take"},
    {NULL},
};

static PyMethodDef copier_methods[] = {
    {"close", (PyCFunction)copier_close, METH_NOARGS,
     "Drop the outcome callback and the buffer: the cycle through the Pump ends here."},
    {NULL},
};

static PyTypeObject CopierType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "sidecars.ambassador.tcp._poller.Copier",
    .tp_doc = "One direction's reads: recv into the shared buffer, send on.",
    .tp_basicsize = sizeof(Copier),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)copier_init,
    .tp_call = (ternaryfunc)copier_call,
    .tp_traverse = (traverseproc)copier_traverse,
    .tp_clear = (inquiry)copier_clear,
    .tp_dealloc = (destructor)copier_dealloc,
    .tp_members = copier_members,
    .tp_methods = copier_methods,
};

/* ---- Poller ---------------------------------------------------------------------- */

typedef struct {
    PyObject *reader;
    PyObject *writer;
    uint32_t mask;    /* 0: not watched */
    uint32_t gen;     /* moves on every removal: a writer's entry is still the one seen */
    uint64_t dropped; /* the batch it was forgotten in */
} Entry;

typedef struct {
    PyObject_HEAD
    int epfd;
    Entry *table; /* indexed by fd */
    int size;
    uint64_t batch;
    PyObject *loop;
    PyObject *ready; /* the bound _ready the loop calls */
    struct epoll_event events[BATCH];
} Poller;

/* a descriptor number, or -1 with an exception set */
static int
fd_arg(PyObject *arg)
{
    long fd = PyLong_AsLong(arg);
    if (fd == -1 && PyErr_Occurred())
        return -1;
    if (fd < 0 || fd > INT_MAX) {
        PyErr_SetString(PyExc_ValueError, "not a descriptor number");
        return -1;
    }
    return (int)fd;
}

static int
poller_grow(Poller *self, int fd)
{
    if (fd < self->size)
        return 0;
    int size = self->size ? self->size : 64;
    while (size <= fd) {
        if (size > (1 << 30)) {
            PyErr_SetString(PyExc_ValueError, "descriptor number out of range");
            return -1;
        }
        size *= 2;
    }
    Entry *table = PyMem_Realloc(self->table, (size_t)size * sizeof(Entry));
    if (table == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    memset(table + self->size, 0, (size_t)(size - self->size) * sizeof(Entry));
    self->table = table;
    self->size = size;
    return 0;
}

static int
poller_init(Poller *self, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"loop", NULL};
    PyObject *loop;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "O", kwlist, &loop))
        return -1;
    if (self->loop != NULL) {
        PyErr_SetString(PyExc_TypeError, "a Poller is initialised once");
        return -1;
    }
    self->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (self->epfd < 0) {
        PyErr_SetFromErrno(PyExc_OSError);
        return -1;
    }
    self->ready = PyObject_GetAttrString((PyObject *)self, "_ready");
    if (self->ready == NULL)
        goto fail;
    PyObject *result = PyObject_CallMethod(loop, "add_reader", "iO", self->epfd, self->ready);
    if (result == NULL)
        goto fail;
    Py_DECREF(result);
    Py_INCREF(loop);
    self->loop = loop;
    return 0;
fail:
    Py_CLEAR(self->ready);
    close(self->epfd);
    self->epfd = -1;
    return -1;
}

static int
poller_open(Poller *self)
{
    if (self->epfd < 0) {
        PyErr_SetString(PyExc_ValueError, "the poller is closed");
        return -1;
    }
    return 0;
}

static void
entry_clear(Entry *entry)
{
    PyObject *reader = entry->reader, *writer = entry->writer;
    entry->reader = entry->writer = NULL;
    entry->mask = 0;
    entry->gen += 1;
    Py_XDECREF(reader);
    Py_XDECREF(writer);
}

static int
poller_set(Poller *self, int fd, PyObject *reader, PyObject *writer)
{
    if (poller_open(self) < 0 || poller_grow(self, fd) < 0)
        return -1;
    if (reader == Py_None)
        reader = NULL;
    if (writer == Py_None)
        writer = NULL;
    uint32_t mask = (reader ? EPOLLIN : 0) | (writer ? EPOLLOUT : 0);
    Entry *entry = &self->table[fd];
    if (!mask) {
        if (entry->mask) {
            /* a descriptor already closed has left the set: nothing to undo */
            epoll_ctl(self->epfd, EPOLL_CTL_DEL, fd, NULL);
            entry_clear(entry);
        }
        return 0;
    }
    if (mask != entry->mask) {
        struct epoll_event event = {.events = mask, .data.fd = fd};
        int op = entry->mask ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
        int rc = epoll_ctl(self->epfd, op, fd, &event);
        if (rc < 0 && op == EPOLL_CTL_ADD && errno == EEXIST)
            rc = epoll_ctl(self->epfd, EPOLL_CTL_MOD, fd, &event);
        else if (rc < 0 && op == EPOLL_CTL_MOD && errno == ENOENT)
            rc = epoll_ctl(self->epfd, EPOLL_CTL_ADD, fd, &event);
        if (rc < 0) {
            PyErr_SetFromErrno(PyExc_OSError);
            return -1;
        }
    }
    PyObject *old_reader = entry->reader, *old_writer = entry->writer;
    Py_XINCREF(reader);
    Py_XINCREF(writer);
    entry->reader = reader;
    entry->writer = writer;
    entry->mask = mask;
    Py_XDECREF(old_reader);
    Py_XDECREF(old_writer);
    return 0;
}

static PyObject *
poller_watch(Poller *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 3) {
        PyErr_SetString(PyExc_TypeError, "watch(fd, reader, writer)");
        return NULL;
    }
    int fd = fd_arg(args[0]);
    if (fd < 0)
        return NULL;
    if (poller_set(self, fd, args[1], args[2]) < 0)
        return NULL;
    Py_RETURN_NONE;
}

static PyObject *
poller_one(Poller *self, PyObject *const *args, Py_ssize_t nargs, int writing)
{
    if (nargs != 2) {
        PyErr_SetString(PyExc_TypeError, writing ? "writer(fd, writer)" : "reader(fd, reader)");
        return NULL;
    }
    int fd = fd_arg(args[0]);
    if (fd < 0)
        return NULL;
    PyObject *other = Py_None;
    if (fd < self->size && self->table[fd].mask) {
        other = writing ? self->table[fd].reader : self->table[fd].writer;
        if (other == NULL)
            other = Py_None;
    }
    Py_INCREF(other); /* poller_set may drop the table's reference first */
    int rc = writing ? poller_set(self, fd, other, args[1]) : poller_set(self, fd, args[1], other);
    Py_DECREF(other);
    if (rc < 0)
        return NULL;
    Py_RETURN_NONE;
}

static PyObject *
poller_reader(Poller *self, PyObject *const *args, Py_ssize_t nargs)
{
    return poller_one(self, args, nargs, 0);
}

static PyObject *
poller_writer(Poller *self, PyObject *const *args, Py_ssize_t nargs)
{
    return poller_one(self, args, nargs, 1);
}

static PyObject *
poller_forget(Poller *self, PyObject *arg)
{
    int fd = fd_arg(arg);
    if (fd < 0)
        return NULL;
    if (fd < self->size) {
        Entry *entry = &self->table[fd];
        if (entry->mask)
            entry_clear(entry);
        entry->dropped = self->batch;
    }
    Py_RETURN_NONE;
}

static int
poller_run(PyObject *callback)
{
    Py_INCREF(callback); /* the callback may unwatch itself */
    int rc = 0;
    if (Py_IS_TYPE(callback, &CopierType)) {
        rc = copier_run((Copier *)callback);
    } else {
        PyObject *result = PyObject_CallNoArgs(callback);
        if (result == NULL)
            rc = -1;
        else
            Py_DECREF(result);
    }
    Py_DECREF(callback);
    return rc;
}

static PyObject *dispatch(Poller *self, int count, uint64_t batch);

static PyObject *
poller_ready(Poller *self, PyObject *unused)
{
    if (self->epfd < 0)
        Py_RETURN_NONE;
    self->batch += 1;
    uint64_t batch = self->batch;
    int count = epoll_wait(self->epfd, self->events, BATCH, 0);
    if (count < 0) {
        if (errno == EINTR)
            Py_RETURN_NONE;
        return PyErr_SetFromErrno(PyExc_OSError);
    }
    Py_INCREF(self); /* a callback may close the poller and drop the last reference */
    PyObject *rc = dispatch(self, count, batch);
    Py_DECREF(self);
    return rc;
}

static PyObject *
dispatch(Poller *self, int count, uint64_t batch)
{
    for (int i = 0; i < count && self->epfd >= 0; i++) {
        int fd = self->events[i].data.fd;
        uint32_t events = self->events[i].events;
        /* entries are read afresh after every callback: a callback may grow the table */
        if (fd >= self->size || !self->table[fd].mask || self->table[fd].dropped == batch)
            continue;
        uint32_t gen = self->table[fd].gen;
        if ((events & IN_EVENTS) && self->table[fd].reader != NULL) {
            if (poller_run(self->table[fd].reader) < 0)
                return NULL;
            if (self->epfd < 0)
                break;
        }
        if ((events & OUT_EVENTS) && self->table[fd].gen == gen &&
            self->table[fd].writer != NULL) {
            if (poller_run(self->table[fd].writer) < 0)
                return NULL;
        }
    }
    Py_RETURN_NONE;
}

static void
poller_drop_all(Poller *self)
{
    for (int fd = 0; fd < self->size; fd++)
        if (self->table[fd].mask)
            entry_clear(&self->table[fd]);
}

static PyObject *
poller_close(Poller *self, PyObject *unused)
{
    if (self->epfd < 0)
        Py_RETURN_NONE;
    int epfd = self->epfd;
    if (self->loop != NULL) {
        PyObject *result = PyObject_CallMethod(self->loop, "remove_reader", "i", epfd);
        if (result == NULL)
            return NULL;
        Py_DECREF(result);
    }
    self->epfd = -1;
    close(epfd);
    poller_drop_all(self);
    Py_RETURN_NONE;
}

static PyObject *
poller_fileno(Poller *self, PyObject *unused)
{
    if (poller_open(self) < 0)
        return NULL;
    return PyLong_FromLong(self->epfd);
}

static int
poller_traverse(Poller *self, visitproc visit, void *arg)
{
    Py_VISIT(self->loop);
    Py_VISIT(self->ready);
    for (int fd = 0; fd < self->size; fd++) {
        Py_VISIT(self->table[fd].reader);
        Py_VISIT(self->table[fd].writer);
    }
    return 0;
}

static int
poller_clear(Poller *self)
{
    poller_drop_all(self);
    Py_CLEAR(self->ready);
    Py_CLEAR(self->loop);
    return 0;
}

static void
poller_dealloc(Poller *self)
{
    PyObject_GC_UnTrack(self);
    poller_clear(self);
    if (self->epfd >= 0)
        close(self->epfd);
    PyMem_Free(self->table);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyMethodDef poller_methods[] = {
    {"watch", (PyCFunction)(void (*)(void))poller_watch, METH_FASTCALL,
     "Set both callbacks of fd (None: not interested); with neither, fd leaves the set."},
    {"reader", (PyCFunction)(void (*)(void))poller_reader, METH_FASTCALL, NULL},
    {"writer", (PyCFunction)(void (*)(void))poller_writer, METH_FASTCALL, NULL},
    {"forget", (PyCFunction)poller_forget, METH_O,
     "Call before closing fd: the close itself removes it from the epoll set."},
    {"fileno", (PyCFunction)poller_fileno, METH_NOARGS, NULL},
    {"close", (PyCFunction)poller_close, METH_NOARGS, NULL},
    {"_ready", (PyCFunction)poller_ready, METH_NOARGS, NULL},
    {NULL},
};

static PyTypeObject PollerType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "sidecars.ambassador.tcp._poller.Poller",
    .tp_doc = "Level-triggered readiness callbacks per fd, run from the loop's own poll.",
    .tp_basicsize = sizeof(Poller),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)poller_init,
    .tp_traverse = (traverseproc)poller_traverse,
    .tp_clear = (inquiry)poller_clear,
    .tp_dealloc = (destructor)poller_dealloc,
    .tp_methods = poller_methods,
};

/* ---- module ---------------------------------------------------------------------- */

static int
module_exec(PyObject *module)
{
    if (PyType_Ready(&CopierType) < 0 || PyType_Ready(&PollerType) < 0)
        return -1;
    if (PyModule_AddObjectRef(module, "Copier", (PyObject *)&CopierType) < 0 ||
        PyModule_AddObjectRef(module, "Poller", (PyObject *)&PollerType) < 0 ||
        PyModule_AddIntConstant(module, "EOF", COPY_EOF) < 0 ||
        PyModule_AddIntConstant(module, "SHORT", COPY_SHORT) < 0)
        return -1;
    return 0;
}

static PyModuleDef_Slot module_slots[] = {
    {Py_mod_exec, module_exec},
    {0, NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT,
    .m_name = "sidecars.ambassador.tcp._poller",
    .m_doc = "poller.py's Poller and Copier in C.",
    .m_slots = module_slots,
};

PyMODINIT_FUNC
PyInit__poller(void)
{
    return PyModuleDef_Init(&module_def);
}
