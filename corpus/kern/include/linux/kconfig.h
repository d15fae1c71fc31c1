/* Corpus configuration, force-included into every file. Shapes: CONFIG_* switches, some left off. */
#ifndef _LINUX_KCONFIG_H
#define _LINUX_KCONFIG_H

#define CONFIG_BLOCK 1
#define CONFIG_EXT2_FS 1
#define CONFIG_NFS_FS 1
#define CONFIG_BLK_DEV_LOOP 1
/* CONFIG_FS_DAX is not set */
/* CONFIG_DEBUG_VM is not set */

#endif /* _LINUX_KCONFIG_H */
