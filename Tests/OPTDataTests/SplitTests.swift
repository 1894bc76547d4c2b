import Foundation
import Testing
@testable import OPTData

@Suite("Dataset folders")
struct SplitTests {
    @Test func saveToDiskFolder() throws {
        let split = try DatasetSplit.open(Paths.fixture("saved"), split: "train")
        #expect(split.layout == .saveToDisk)
        #expect(split.urls.map(\.lastPathComponent) == ["data-00000-of-00002.arrow", "data-00001-of-00002.arrow"])
        #expect(split.rowCount == 10)
        let expected = try expectedRows()
        expectRows(try split.allRows(), expected, "saved")
        for i in 0..<10 { #expect(try split.row(at: i) == expected[i]) }
        #expect(dataError { _ = try split.row(at: 10) }?.kind == .rowOutOfRange(10, count: 10))
        #expect(split.features?.classLabels == ["label": ["negative", "positive", "neutral"]])
        var indices: [Int] = []
        try split.forEachRow { i, _ in indices.append(i); return true }
        #expect(indices == Array(0..<10))
    }

    @Test func datasetDictFolder() throws {
        let folder = Paths.fixture("saved_dict")
        let train = try DatasetSplit.open(folder, split: "train")
        #expect(train.layout == .datasetDict)
        expectRows(try train.allRows(), try expectedRows(), "saved_dict/train")
        let test = try DatasetSplit.open(folder, split: "test")
        expectRows(try test.allRows(), try expectedRows("expected_test.jsonl"), "saved_dict/test")
        #expect(test.features?["label"] == .classLabel(names: ["negative", "positive", "neutral"]))
        let error = dataError { _ = try DatasetSplit.open(folder, split: "validation") }
        #expect(error?.kind == .missingSplit("validation", available: ["train", "test"]))
        #expect(error?.description.contains(folder.path) == true)
    }

    @Test func huggingFaceCache() throws {
        let cache = Paths.fixture("cache")
        let train = try DatasetSplit.open(cache, split: "train")
        #expect(train.layout == .cache)
        #expect(train.urls.map(\.lastPathComponent) == ["json-train.arrow"])
        #expect(try train.allRows() == (0..<4).map { ["q": .string("question \($0)"), "a": .int(Int64($0))] })
        #expect(train.features?.columns.map(\.name) == ["q", "a"])
        #expect(try DatasetSplit.open(cache, split: "validation").rowCount == 2)
        // From any folder level of the cache.
        #expect(try DatasetSplit.open(cache.appendingPathComponent("json"), split: "validation").rowCount == 2)
        let error = dataError { _ = try DatasetSplit.open(cache, split: "test") }
        #expect(error?.kind == .missingSplit("test", available: ["train", "validation"]))
    }

    @Test func shardedCacheNewestHashWins() throws {
        let root = try temporaryFolder()
        let fm = FileManager.default
        let old = root.appendingPathComponent("my_data/default/1.0.0/aaa")
        let new = root.appendingPathComponent("my_data/default/1.0.0/bbb")
        try fm.createDirectory(at: old, withIntermediateDirectories: true)
        try fm.createDirectory(at: new, withIntermediateDirectories: true)
        try fm.copyItem(at: Paths.fixture("template.arrow"), to: old.appendingPathComponent("my_data-train.arrow"))
        for k in 0..<2 {
            try fm.copyItem(at: Paths.fixture("saved/data-0000\(k)-of-00002.arrow"),
                            to: new.appendingPathComponent("my_data-train-0000\(k)-of-00002.arrow"))
        }
        try fm.copyItem(at: Paths.fixture("saved/dataset_info.json"), to: new.appendingPathComponent("dataset_info.json"))
        try fm.setAttributes([.modificationDate: Date(timeIntervalSinceNow: -3600)], ofItemAtPath: old.path)
        try fm.setAttributes([.modificationDate: Date()], ofItemAtPath: new.path)
        let split = try DatasetSplit.open(root, split: "train")
        #expect(split.layout == .cache)
        #expect(split.urls.map(\.lastPathComponent) == ["my_data-train-00000-of-00002.arrow", "my_data-train-00001-of-00002.arrow"])
        expectRows(try split.allRows(), try expectedRows(), "sharded cache")
        #expect(split.features?.classLabels["label"]?.count == 3)
    }

    @Test func plainFilesAndSubfolders() throws {
        let root = try temporaryFolder()
        let fm = FileManager.default
        try writeFile("{\"a\": 1}\n{\"a\": 2}\n", "train.jsonl", in: root)
        try writeFile("a,b\n1,2\n", "test.csv", in: root)
        try writeFile("{\"a\": 1}\n", "validation-00000-of-00002.jsonl", in: root)
        try writeFile("{\"a\": 2}\n{\"a\": 3}\n", "validation-00001-of-00002.jsonl", in: root)
        try fm.copyItem(at: Paths.fixture("saved"), to: root.appendingPathComponent("extra"))
        try fm.copyItem(at: Paths.fixture("rows.stream.arrow"), to: root.appendingPathComponent("arrowy.arrow"))

        let train = try DatasetSplit.open(root, split: "train")
        #expect(train.layout == .plainFiles)
        #expect(train.rowCount == nil)
        #expect(try train.allRows() == [["a": .int(1)], ["a": .int(2)]])
        #expect(try train.row(at: 1) == ["a": .int(2)])
        #expect(try DatasetSplit.open(root, split: "test").allRows() == [["a": .string("1"), "b": .string("2")]])
        let validation = try DatasetSplit.open(root, split: "validation")
        #expect(try validation.allRows().compactMap { $0["a"]?.intValue } == [1, 2, 3])
        #expect(try validation.row(at: 2) == ["a": .int(3)])
        #expect(dataError { _ = try validation.row(at: 3) }?.kind == .rowOutOfRange(3, count: 3))
        // <folder>/<split>/ as a save_to_disk folder.
        let extra = try DatasetSplit.open(root, split: "extra")
        #expect(extra.layout == .saveToDisk && extra.rowCount == 10)
        // A file given directly.
        let direct = try DatasetSplit.open(root.appendingPathComponent("arrowy.arrow"), split: "whatever")
        #expect(direct.layout == .file && direct.rowCount == 10)
        #expect(direct.features?.classLabels["label"] != nil)
        let error = dataError { _ = try DatasetSplit.open(root, split: "dev") }
        #expect(error?.kind == .missingSplit("dev", available: ["arrowy", "extra", "test", "train", "validation"]))
        #expect(error?.description.contains(root.path) == true)
    }

    @Test func savedSplitNameIsChecked() throws {
        let root = try temporaryFolder()
        let folder = root.appendingPathComponent("ds")
        try FileManager.default.copyItem(at: Paths.fixture("saved"), to: folder)
        var state = try String(contentsOf: folder.appendingPathComponent("state.json"), encoding: .utf8)
        state = state.replacingOccurrences(of: "\"_split\": null", with: "\"_split\": \"train\"")
        try writeFile(state, "state.json", in: folder)
        #expect(try DatasetSplit.open(folder, split: "train").rowCount == 10)
        #expect(dataError { _ = try DatasetSplit.open(folder, split: "test") }?.kind == .missingSplit("test", available: ["train"]))
        // A shard listed in state.json but missing.
        try FileManager.default.removeItem(at: folder.appendingPathComponent("data-00001-of-00002.arrow"))
        let error = dataError { _ = try DatasetSplit.open(folder, split: "train") }
        #expect(error?.kind == .unreadable("no such file"))
        #expect(error?.description.contains("data-00001-of-00002.arrow") == true)
        #expect(dataError { _ = try DatasetSplit.open(root.appendingPathComponent("nope"), split: "train") }?.kind == .unreadable("no such file or folder"))
    }

    @Test func fileNameParsing() {
        #expect(DatasetSplit.splitOfPlainFile("train.jsonl") == "train")
        #expect(DatasetSplit.splitOfPlainFile("train-00001-of-00004.arrow") == "train")
        #expect(DatasetSplit.splitOfPlainFile("notes.txt") == nil)
        #expect(DatasetSplit.splitOfCacheFile("super_glue-validation.arrow") == "validation")
        #expect(DatasetSplit.splitOfCacheFile("glue-train-00002-of-00003.arrow") == "train")
        #expect(DatasetSplit.splitOfCacheFile("cache-1a2b3c.arrow") == nil)
    }
}
