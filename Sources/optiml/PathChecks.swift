import Foundation

/// Whether two paths name the same file or folder however they are spelled (`.` and `..`, symbolic links): an output
/// that is an input would replace what is being read.
func samePath(_ a: URL, _ b: URL) -> Bool {
    a.standardizedFileURL.resolvingSymlinksInPath().path == b.standardizedFileURL.resolvingSymlinksInPath().path
}
