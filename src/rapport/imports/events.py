from rapport.audit.events import register

IMPORT_STARTED = register("import.started", "Import started")
IMPORT_FINISHED = register("import.finished", "Import finished")
IMPORT_UNDONE = register("import.undone", "Import undone")
EXPORT_CREATED = register("export.created", "Records exported")
