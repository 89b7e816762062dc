//! Which resource operation a method and path (after the face prefix) name.

use http::Method;

/// A resource-level operation; ids are raw path segments.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Action<'a> {
    UploadFile,
    ListFiles,
    GetFile(&'a str),
    FileContent(&'a str),
    DeleteFile(&'a str),
    CreateBatch,
    ListBatches,
    GetBatch(&'a str),
    CancelBatch(&'a str),
    CreateJob,
    ListJobs,
    GetJob(&'a str),
    CancelJob(&'a str),
    JobEvents(&'a str),
    JobCheckpoints(&'a str),
    GetResponse(&'a str),
    DeleteResponse(&'a str),
    CancelResponse(&'a str),
    InputItems(&'a str),
}

impl Action<'_> {
    /// Azure's operation id, quoted in the 429 message.
    pub(crate) fn operation_id(self) -> &'static str {
        match self {
            Self::UploadFile => "Files_Upload",
            Self::ListFiles => "Files_List",
            Self::GetFile(_) => "Files_Get",
            Self::FileContent(_) => "Files_GetFileContent",
            Self::DeleteFile(_) => "Files_Delete",
            Self::CreateBatch => "Batch_Create",
            Self::ListBatches => "Batch_List",
            Self::GetBatch(_) => "Batch_Get",
            Self::CancelBatch(_) => "Batch_Cancel",
            Self::CreateJob => "FineTuning_Create",
            Self::ListJobs => "FineTuning_List",
            Self::GetJob(_) => "FineTuning_Get",
            Self::CancelJob(_) => "FineTuning_Cancel",
            Self::JobEvents(_) => "FineTuning_GetEvents",
            Self::JobCheckpoints(_) => "FineTuning_GetCheckpoints",
            Self::GetResponse(_) => "Responses_Get",
            Self::DeleteResponse(_) => "Responses_Delete",
            Self::CancelResponse(_) => "Responses_Cancel",
            Self::InputItems(_) => "Responses_ListInputItems",
        }
    }
}

/// `rest` is the path after the face prefix, e.g. `files/file-1/content`; `None` means
/// Azure's "Resource not found" (unknown path, wrong method, empty id).
pub(crate) fn parse<'a>(method: &Method, rest: &'a str) -> Option<Action<'a>> {
    use Action::*;
    let segments: Vec<&str> = rest.split('/').collect();
    if segments.iter().any(|s| s.is_empty()) {
        return None;
    }
    Some(match (method.as_str(), segments.as_slice()) {
        ("POST", ["files"]) => UploadFile,
        ("GET", ["files"]) => ListFiles,
        ("GET", ["files", id]) => GetFile(id),
        ("DELETE", ["files", id]) => DeleteFile(id),
        ("GET", ["files", id, "content"]) => FileContent(id),
        ("POST", ["batches"]) => CreateBatch,
        ("GET", ["batches"]) => ListBatches,
        ("GET", ["batches", id]) => GetBatch(id),
        ("POST", ["batches", id, "cancel"]) => CancelBatch(id),
        ("POST", ["fine_tuning", "jobs"]) => CreateJob,
        ("GET", ["fine_tuning", "jobs"]) => ListJobs,
        ("GET", ["fine_tuning", "jobs", id]) => GetJob(id),
        ("POST", ["fine_tuning", "jobs", id, "cancel"]) => CancelJob(id),
        ("GET", ["fine_tuning", "jobs", id, "events"]) => JobEvents(id),
        ("GET", ["fine_tuning", "jobs", id, "checkpoints"]) => JobCheckpoints(id),
        ("GET", ["responses", id]) => GetResponse(id),
        ("DELETE", ["responses", id]) => DeleteResponse(id),
        ("POST", ["responses", id, "cancel"]) => CancelResponse(id),
        ("GET", ["responses", id, "input_items"]) => InputItems(id),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_operations_by_method_and_path() {
        let get = Method::GET;
        assert_eq!(parse(&Method::POST, "files"), Some(Action::UploadFile));
        assert_eq!(
            parse(&get, "files/f1/content"),
            Some(Action::FileContent("f1"))
        );
        assert_eq!(
            parse(&Method::DELETE, "files/f1"),
            Some(Action::DeleteFile("f1"))
        );
        assert_eq!(
            parse(&Method::POST, "batches/b1/cancel"),
            Some(Action::CancelBatch("b1"))
        );
        assert_eq!(
            parse(&get, "fine_tuning/jobs/j/checkpoints"),
            Some(Action::JobCheckpoints("j"))
        );
        assert_eq!(
            parse(&get, "responses/r/input_items"),
            Some(Action::InputItems("r"))
        );
        for (method, rest) in [
            (Method::PUT, "files"),
            (Method::POST, "files/f1"),
            (get.clone(), "files/"),
            (get.clone(), "files//content"),
            (get.clone(), "batches/b1/cancel"),
            (get.clone(), "fine_tuning"),
            (get.clone(), "responses"),
            (Method::DELETE, "batches/b1"),
        ] {
            assert_eq!(parse(&method, rest), None, "{method} {rest}");
        }
    }
}
