/* The C twin of Tally.add's counting (sidecars/nginxlog/tally.py): each parsed row is
 * counted under its kept fields joined by a newline, and its size fields (runs of ASCII
 * digits) are added to per-row-key sums, in one pass without a Python loop. A row with a
 * size that is not such a run is handed back for the Python twin to judge, so both give
 * the same results (tests/nginxlog/test_tally_twins.py). */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#define MAX_SIZES 8

static int
digits(PyObject *value, unsigned long long *out)
{
    if (!PyBytes_Check(value))
        return 0;
    Py_ssize_t size = PyBytes_GET_SIZE(value);
    const char *text = PyBytes_AS_STRING(value);
    if (size == 0 || size > 18)
        return 0;
    unsigned long long total = 0;
    for (Py_ssize_t i = 0; i < size; i++) {
        unsigned char c = (unsigned char)text[i];
        if (c < '0' || c > '9')
            return 0;
        total = total * 10 + (c - '0');
    }
    *out = total;
    return 1;
}

static PyObject *
joined(PyObject *row, PyObject *kept)
{
    Py_ssize_t n = kept == Py_None ? PyTuple_GET_SIZE(row) : PyTuple_GET_SIZE(kept);
    Py_ssize_t length = n > 0 ? n - 1 : 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        Py_ssize_t at = kept == Py_None ? i : PyLong_AsSsize_t(PyTuple_GET_ITEM(kept, i));
        PyObject *item = PyTuple_GET_ITEM(row, at);
        if (!PyBytes_Check(item)) {
            PyErr_SetString(PyExc_TypeError, "row fields are bytes");
            return NULL;
        }
        length += PyBytes_GET_SIZE(item);
    }
    PyObject *key = PyBytes_FromStringAndSize(NULL, length);
    if (key == NULL)
        return NULL;
    char *out = PyBytes_AS_STRING(key);
    for (Py_ssize_t i = 0; i < n; i++) {
        Py_ssize_t at = kept == Py_None ? i : PyLong_AsSsize_t(PyTuple_GET_ITEM(kept, i));
        PyObject *item = PyTuple_GET_ITEM(row, at);
        if (i > 0)
            *out++ = '\n';
        memcpy(out, PyBytes_AS_STRING(item), PyBytes_GET_SIZE(item));
        out += PyBytes_GET_SIZE(item);
    }
    return key;
}

static int
add(PyObject *dict, PyObject *key, Py_hash_t hash, PyObject *amount)
{
    PyObject *old = _PyDict_GetItem_KnownHash(dict, key, hash);
    if (old == NULL && PyErr_Occurred())
        return -1;
    PyObject *sum = old == NULL ? Py_NewRef(amount) : PyNumber_Add(old, amount);
    if (sum == NULL)
        return -1;
    int status = _PyDict_SetItem_KnownHash(dict, key, sum, hash);
    Py_DECREF(sum);
    return status;
}

/* add_rows(found, rows, kept, sums, sizes) -> rows left to the caller */
static PyObject *
add_rows(PyObject *Py_UNUSED(module), PyObject *args)
{
    PyObject *found, *rows, *kept, *sums, *sizes;
    if (!PyArg_ParseTuple(args, "O!O!OO!O!", &PyList_Type, &found, &PyDict_Type, &rows, &kept,
                          &PyList_Type, &sums, &PyTuple_Type, &sizes))
        return NULL;
    Py_ssize_t nsizes = PyTuple_GET_SIZE(sizes);
    if (PyList_GET_SIZE(sums) != nsizes || nsizes > MAX_SIZES ||
        (kept != Py_None && !PyTuple_Check(kept))) {
        PyErr_SetString(PyExc_ValueError, "one sums dict per size field; kept a tuple or None");
        return NULL;
    }
    Py_ssize_t at_sizes[MAX_SIZES];
    Py_ssize_t width = 0;
    for (Py_ssize_t i = 0; i < nsizes; i++) {
        at_sizes[i] = PyLong_AsSsize_t(PyTuple_GET_ITEM(sizes, i));
        if (at_sizes[i] + 1 > width)
            width = at_sizes[i] + 1;
    }
    if (kept != Py_None) {
        for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(kept); i++) {
            Py_ssize_t at = PyLong_AsSsize_t(PyTuple_GET_ITEM(kept, i));
            if (at + 1 > width)
                width = at + 1;
        }
    }
    if (PyErr_Occurred())
        return NULL;
    PyObject *left = PyList_New(0);
    PyObject *one = PyLong_FromLong(1);
    if (left == NULL || one == NULL)
        goto error;
    for (Py_ssize_t r = 0; r < PyList_GET_SIZE(found); r++) {
        PyObject *row = PyList_GET_ITEM(found, r);
        if (!PyTuple_Check(row) || PyTuple_GET_SIZE(row) < width) {
            PyErr_SetString(PyExc_TypeError, "rows are tuples of the parser's fields");
            goto error;
        }
        unsigned long long amounts[MAX_SIZES];
        int whole = 1;
        for (Py_ssize_t i = 0; i < nsizes && whole; i++)
            whole = digits(PyTuple_GET_ITEM(row, at_sizes[i]), &amounts[i]);
        if (!whole) {
            if (PyList_Append(left, row) < 0)
                goto error;
            continue;
        }
        PyObject *key = joined(row, kept);
        if (key == NULL)
            goto error;
        Py_hash_t hash = PyObject_Hash(key);
        int status = hash == -1 ? -1 : add(rows, key, hash, one);
        for (Py_ssize_t i = 0; i < nsizes && status == 0; i++) {
            PyObject *amount = PyLong_FromUnsignedLongLong(amounts[i]);
            status = amount == NULL ? -1 : add(PyList_GET_ITEM(sums, i), key, hash, amount);
            Py_XDECREF(amount);
        }
        Py_DECREF(key);
        if (status < 0)
            goto error;
    }
    Py_DECREF(one);
    return left;
error:
    Py_XDECREF(left);
    Py_XDECREF(one);
    return NULL;
}

static PyMethodDef methods[] = {
    {"add_rows", add_rows, METH_VARARGS,
     "add_rows(found, rows, kept, sums, sizes) -> rows whose sizes are not plain digits"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_tally", NULL, -1, methods, NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC
PyInit__tally(void)
{
    return PyModule_Create(&module);
}
