from rapport.audit.events import register

IMPORT_STARTED = register("import.started", "Import started")
IMPORT_FINISHED = register("import.finished", "Import finished")
IMPORT_UNDONE = register("import.undone", "Import undone")
MAPPING_SAVED = register("import.mapping_saved", "Import mapping template saved")
EXPORT_CREATED = register("export.created", "Records exported")
