/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "vm_match.h"

#include <errno.h>
#include <string.h>

int vm_match_compile(struct vm_match *m, const struct pattern_list *comm,
                     const struct pattern_list *cmdline)
{
        memset(m, 0, sizeof(*m));
        for (size_t i = 0; i < comm->n; i++) {
                if (regcomp(&m->comm[i], comm->items[i], REG_EXTENDED | REG_NOSUB) != 0)
                        goto fail;
                m->n_comm++;
        }
        for (size_t i = 0; i < cmdline->n; i++) {
                if (regcomp(&m->cmdline[i], cmdline->items[i], REG_EXTENDED | REG_NOSUB) != 0)
                        goto fail;
                m->n_cmdline++;
        }
        return 0;
fail:
        vm_match_free(m);
        return -EINVAL;
}

void vm_match_free(struct vm_match *m)
{
        for (size_t i = 0; i < m->n_comm; i++)
                regfree(&m->comm[i]);
        for (size_t i = 0; i < m->n_cmdline; i++)
                regfree(&m->cmdline[i]);
        m->n_comm = m->n_cmdline = 0;
}

bool vm_match_needs_cmdline(const struct vm_match *m)
{
        return m->n_cmdline > 0;
}

bool vm_match_process(const struct vm_match *m, const char *comm, const char *cmdline)
{
        if (comm)
                for (size_t i = 0; i < m->n_comm; i++)
                        if (regexec(&m->comm[i], comm, 0, NULL, 0) == 0)
                                return true;
        if (cmdline)
                for (size_t i = 0; i < m->n_cmdline; i++)
                        if (regexec(&m->cmdline[i], cmdline, 0, NULL, 0) == 0)
                                return true;
        return false;
}
