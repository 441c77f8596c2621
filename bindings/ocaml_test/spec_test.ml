(* Checks the generated OCaml bindings of package smapiv3 against idl.md: the JSON samples of
   §3.2 round-trip byte for byte, the decoding rules of §3.3 hold, the clients build exactly the
   49 calls of §3.4, and the servers answer JSON-RPC v1 responses. Exits 1 on any failure. *)

open Smapiv3

let failures = ref 0

let check name ok =
  if not ok then (
    incr failures;
    Printf.printf "FAIL %s\n%!" name)

let check_eq name expected actual =
  if expected <> actual then (
    incr failures;
    Printf.printf "FAIL %s\n  expected: %s\n  actual:   %s\n%!" name expected actual)

let parse = Yojson.Safe.from_string
let print = Yojson.Safe.to_string

(* §3.2: decode then encode gives the same bytes. *)
let round_trip name of_json to_json sample =
  match to_json (of_json (parse sample)) with
  | text -> check_eq ("round trip " ^ name) sample (print text)
  | exception Smapi_rpc.Unmarshal_error msg -> check_eq ("round trip " ^ name) sample ("error: " ^ msg)

let samples () =
  let volume = Types.(round_trip "volume" volume_of_json volume_to_json) in
  volume
    {|{"cbt_enabled":true,"volume_type":"CBT_Metadata","keys":{"a":"b"},"uri":["raw+file:///x"],"physical_utilisation":0,"virtual_size":1073741824,"sharable":false,"read_write":true,"description":"d","name":"n","uuid":"u1","key":"k1"}|};
  volume
    {|{"keys":{"a":"b"},"uri":["raw+file:///x"],"physical_utilisation":0,"virtual_size":1073741824,"sharable":false,"read_write":true,"description":"d","name":"n","key":"k1"}|};
  let open Types in
  round_trip "sr_stat" sr_stat_of_json sr_stat_to_json
    {|{"health":["Healthy",""],"clustered":false,"datasources":["xeno+shm:///d1"],"total_space":2,"free_space":1,"description":"d","name":"n","sr":"file:///s"}|};
  round_trip "probe_result" probe_result_of_json probe_result_to_json
    {|{"extra_info":{},"complete":true,"configuration":{"a":"b"}}|};
  round_trip "probe_result with sr" probe_result_of_json probe_result_to_json
    {|{"extra_info":{"lun":"1"},"sr":{"health":["Healthy",""],"clustered":false,"datasources":["xeno+shm:///d1"],"total_space":2,"free_space":1,"description":"d","uuid":"u","name":"n","sr":"file:///s"},"complete":true,"configuration":{"a":"b"}}|};
  round_trip "changed_blocks" changed_blocks_of_json changed_blocks_to_json
    {|{"bitmap":"AAE=","granularity":65536}|};
  round_trip "blocklist" blocklist_of_json blocklist_to_json {|{"ranges":[[0,1],[5,10]],"blocksize":512}|};
  round_trip "query_result" query_result_of_json query_result_to_json
    {|{"required_cluster_stack":[],"configuration":{"path":"Folder"},"features":["SR_ATTACH"],"required_api_version":"5.0","version":"1","copyright":"c","vendor":"v","description":"d","name":"n","plugin":"p"}|};
  round_trip "backend" backend_of_json backend_to_json
    {|{"implementations":[["XenDisk",{"backend_type":"vbd","extra":{},"params":"/dev/loop0"}],["BlockDevice",{"path":"/dev/loop0"}],["File",{"path":"/x.raw"}],["Nbd",{"uri":"nbd:unix:/s:exportname=e"}]]}|};
  round_trip "operation" operation_of_json operation_to_json {|["CopyV1","k"]|};
  round_trip "operations" operations_of_json operations_to_json {|[["CopyV1","k"],["MirrorV1","m"]]|};
  round_trip "status" status_of_json status_to_json {|{"progress":0.5,"complete":false,"failed":false}|};
  round_trip "status failed" status_of_json status_to_json {|{"complete":true,"failed":true}|};
  List.iter
    (round_trip "task" task_of_json task_to_json)
    [
      {|{"state":["Pending",0.25],"ctime":1.5,"debug_info":"dbg","id":"t"}|};
      {|{"state":["Completed",{"duration":2.0}],"ctime":1.5,"debug_info":"dbg","id":"t"}|};
      {|{"state":["Completed",{"result":"UnitResult","duration":2.0}],"ctime":1.5,"debug_info":"dbg","id":"t"}|};
      {|{"state":["Completed",{"result":["Volume",{"cbt_enabled":true,"volume_type":"CBT_Metadata","keys":{"a":"b"},"uri":["raw+file:///x"],"physical_utilisation":0,"virtual_size":1073741824,"sharable":false,"read_write":true,"description":"d","name":"n","uuid":"u1","key":"k1"}],"duration":1.0}],"ctime":1.5,"debug_info":"dbg","id":"t"}|};
      {|{"state":["Failed","err"],"ctime":1.5,"debug_info":"dbg","id":"t"}|};
    ];
  List.iter
    (round_trip "volume_type" volume_type_of_json volume_type_to_json)
    [ {|"Data"|}; {|"CBT_Metadata"|}; {|"Data_and_CBT_Metadata"|} ];
  List.iter
    (round_trip "health" health_of_json health_to_json)
    [ {|["Healthy",""]|}; {|["Recovering","r"]|}; {|["Unreachable","x"]|}; {|["Unavailable","y"]|} ];
  List.iter
    (round_trip "exns" exns_of_json exns_to_json)
    [
      {|["Sr_not_attached","a"]|}; {|["SR_does_not_exist","b"]|}; {|["Volume_does_not_exist","c"]|};
      {|["Unimplemented","d"]|}; {|["Cancelled","e"]|}; {|["Activated_on_another_host","f"]|};
    ]

(* §3.3: the lenient reader. *)
let decode_error f text =
  match f (parse text) with
  | _ -> "no error"
  | exception Smapi_rpc.Unmarshal_error msg -> msg

let base = {|"key":"k1","name":"n","description":"d","read_write":true,"sharable":false,"virtual_size":1,"physical_utilisation":0,"uri":[],"keys":{}|}

let reader () =
  check "types reachable from the group module"
    ((Volume.volume_type_of_json (parse {|"Data"|}) : Types.volume_type) = Types.Data);
  let open Types in
  let v = volume_of_json (parse ({|{"KEY":"x","Name":"y",|} ^ {|"description":"d","read_write":true,"sharable":false,"virtual_size":"123","physical_utilisation":0,"uri":[],"keys":{},"tags":["t"]}|})) in
  check "case-insensitive keys" (v.key = "x" && v.name = "y");
  check "int from a string" (v.virtual_size = 123L);
  check "absent option with default is None" (v.volume_type = None && v.cbt_enabled = None);
  let v = volume_of_json (parse ("{" ^ base ^ {|,"volume_type":null,"cbt_enabled":"true"}|})) in
  check "malformed option with default" (v.volume_type = Some Data && v.cbt_enabled = Some false);
  let v = volume_of_json (parse ("{" ^ base ^ {|,"volume_type":"data_and_cbt_metadata"}|})) in
  check "case-insensitive tag" (v.volume_type = Some Data_and_CBT_Metadata);
  let v = volume_of_json (parse ("{" ^ base ^ {|,"volume_type":["CBT_Metadata",null]}|})) in
  check "nullary tag with null payload" (v.volume_type = Some CBT_Metadata);
  check_eq "null for an option without default" "Expected string, got null"
    (decode_error volume_of_json ("{" ^ base ^ {|,"uuid":null}|}));
  check_eq "missing field" "No value found for key: 'name' when unmarshalling 'volume'"
    (decode_error volume_of_json {|{"key":"k"}|});
  check_eq "unknown tag" "Unknown tag 'Bogus'" (decode_error health_of_json {|["Bogus","x"]|});
  check_eq "bare tag needing a payload" "Expected string, got null"
    (decode_error health_of_json {|"Healthy"|});
  check_eq "float for int" "Expected int64, got 1.0"
    (decode_error sr_stat_of_json {|{"sr":"s","name":"n","description":"d","free_space":1.0,"total_space":1,"datasources":[],"clustered":false,"health":["Healthy",""]}|});
  check_eq "three-element tuple" "Too many items in a tuple!"
    (decode_error blocklist_of_json {|{"blocksize":1,"ranges":[[0,1,2]]}|});
  check_eq "bool is strict" "Expected bool, got 1"
    (decode_error status_of_json {|{"failed":1,"complete":true}|});
  let s = status_of_json (parse {|{"failed":false,"complete":true,"progress":1}|}) in
  check "float from int" (s.progress = Some 1.0);
  check_eq "non-object record" "Expecting an object when unmarshalling a 'sr_stat', got null"
    (decode_error probe_result_of_json {|{"configuration":{},"complete":true,"extra_info":{},"sr":null}|})

(* §3.4: the calls the clients build. *)
let expected_calls =
  [
    {|{"method":"Plugin.query","params":[{"dbg":"dbg"}],"id":1}|};
    {|{"method":"Plugin.ls","params":[{"dbg":"dbg"}],"id":2}|};
    {|{"method":"Plugin.diagnostics","params":[{"dbg":"dbg"}],"id":3}|};
    {|{"method":"SR.probe","params":[{"configuration":{"k":"v"},"dbg":"dbg"}],"id":4}|};
    {|{"method":"SR.create","params":[{"description":"desc","name":"name","configuration":{"path":"/x"},"uuid":"uuid1","dbg":"dbg"}],"id":5}|};
    {|{"method":"SR.attach","params":[{"configuration":{"path":"/x"},"dbg":"dbg"}],"id":6}|};
    {|{"method":"SR.detach","params":[{"sr":"sr1","dbg":"dbg"}],"id":7}|};
    {|{"method":"SR.destroy","params":[{"sr":"sr1","dbg":"dbg"}],"id":8}|};
    {|{"method":"SR.stat","params":[{"sr":"sr1","dbg":"dbg"}],"id":9}|};
    {|{"method":"SR.set_name","params":[{"new_name":"nn","sr":"sr1","dbg":"dbg"}],"id":10}|};
    {|{"method":"SR.set_description","params":[{"new_description":"nd","sr":"sr1","dbg":"dbg"}],"id":11}|};
    {|{"method":"SR.ls","params":[{"sr":"sr1","dbg":"dbg"}],"id":12}|};
    {|{"method":"Volume.create","params":[{"sharable":true,"size":1073741824,"description":"desc","name":"name","sr":"sr1","dbg":"dbg"}],"id":13}|};
    {|{"method":"Volume.snapshot","params":[{"key":"k1","sr":"sr1","dbg":"dbg"}],"id":14}|};
    {|{"method":"Volume.clone","params":[{"key":"k1","sr":"sr1","dbg":"dbg"}],"id":15}|};
    {|{"method":"Volume.copy","params":[{"dest_sr":"sr2","key":"k1","sr":"sr1","dbg":"dbg"}],"id":16}|};
    {|{"method":"Volume.destroy","params":[{"key":"k1","sr":"sr1","dbg":"dbg"}],"id":17}|};
    {|{"method":"Volume.revert","params":[{"key":"k1","snapshot":"snap1","sr":"sr1","dbg":"dbg"}],"id":18}|};
    {|{"method":"Volume.set_name","params":[{"new_name":"nn","key":"k1","sr":"sr1","dbg":"dbg"}],"id":19}|};
    {|{"method":"Volume.set_description","params":[{"new_description":"nd","key":"k1","sr":"sr1","dbg":"dbg"}],"id":20}|};
    {|{"method":"Volume.set","params":[{"v":"vv","k":"kk","key":"k1","sr":"sr1","dbg":"dbg"}],"id":21}|};
    {|{"method":"Volume.unset","params":[{"k":"kk","key":"k1","sr":"sr1","dbg":"dbg"}],"id":22}|};
    {|{"method":"Volume.resize","params":[{"new_size":2147483648,"key":"k1","sr":"sr1","dbg":"dbg"}],"id":23}|};
    {|{"method":"Volume.stat","params":[{"key":"k1","sr":"sr1","dbg":"dbg"}],"id":24}|};
    {|{"method":"Volume.compare","params":[{"key2":"k2","key":"k1","sr":"sr1","dbg":"dbg"}],"id":25}|};
    {|{"method":"Volume.similar_content","params":[{"key":"k1","sr":"sr1","dbg":"dbg"}],"id":26}|};
    {|{"method":"Volume.enable_cbt","params":[{"key":"k1","sr":"sr1","dbg":"dbg"}],"id":27}|};
    {|{"method":"Volume.disable_cbt","params":[{"key":"k1","sr":"sr1","dbg":"dbg"}],"id":28}|};
    {|{"method":"Volume.data_destroy","params":[{"key":"k1","sr":"sr1","dbg":"dbg"}],"id":29}|};
    {|{"method":"Volume.list_changed_blocks","params":[{"length":-1,"offset":0,"key2":"k2","key":"k1","sr":"sr1","dbg":"dbg"}],"id":30}|};
    {|{"method":"Volume.compose","params":[{"key2":"k2","key":"k1","sr":"sr1","dbg":"dbg"}],"id":31}|};
    {|{"method":"Datapath.open","params":[{"persistent":true,"uri":"uri1","dbg":"dbg"}],"id":32}|};
    {|{"method":"Datapath.attach","params":[{"domain":"5","uri":"uri1","dbg":"dbg"}],"id":33}|};
    {|{"method":"Datapath.activate","params":[{"domain":"5","uri":"uri1","dbg":"dbg"}],"id":34}|};
    {|{"method":"Datapath.activate_readonly","params":[{"domain":"5","uri":"uri1","dbg":"dbg"}],"id":35}|};
    {|{"method":"Datapath.import_activate","params":[{"domain":"0","uri":"uri1","dbg":"dbg"}],"id":36}|};
    {|{"method":"Datapath.deactivate","params":[{"domain":"5","uri":"uri1","dbg":"dbg"}],"id":37}|};
    {|{"method":"Datapath.detach","params":[{"domain":"5","uri":"uri1","dbg":"dbg"}],"id":38}|};
    {|{"method":"Datapath.close","params":[{"uri":"uri1","dbg":"dbg"}],"id":39}|};
    {|{"method":"Data.copy","params":[{"blocklist":{"ranges":[[0,16],[32,8]],"blocksize":65536},"remote":"nbd://h/e","domain":"0","uri":"uri1","dbg":"dbg"}],"id":40}|};
    {|{"method":"Data.mirror","params":[{"remote":"nbd://h/e","domain":"0","uri":"uri1","dbg":"dbg"}],"id":41}|};
    {|{"method":"Data.stat","params":[{"operation":["CopyV1","op1"],"dbg":"dbg"}],"id":42}|};
    {|{"method":"Data.cancel","params":[{"operation":["MirrorV1","op2"],"dbg":"dbg"}],"id":43}|};
    {|{"method":"Data.destroy","params":[{"operation":["CopyV1","op1"],"dbg":"dbg"}],"id":44}|};
    {|{"method":"Data.ls","params":[{"dbg":"dbg"}],"id":45}|};
    {|{"method":"Task.stat","params":[{"id":"task1","dbg":"dbg"}],"id":46}|};
    {|{"method":"Task.cancel","params":[{"id":"task1","dbg":"dbg"}],"id":47}|};
    {|{"method":"Task.destroy","params":[{"id":"task1","dbg":"dbg"}],"id":48}|};
    {|{"method":"Task.ls","params":[{"dbg":"dbg"}],"id":49}|};
  ]

(* A transport that records each request and answers an error, so that no result needs
   decoding: the calls are what is checked here. *)
let sent = ref []

module T = struct
  let rpc request =
    sent := request :: !sent;
    {|{"result":null,"error":["Unimplemented","x"],"id":0}|}
end

module P = Plugin.Plugin_client (T)
module S = Volume.SR_client (T)
module V = Volume.Volume_client (T)
module D = Datapath.Datapath_client (T)
module Da = Datapath.Data_client (T)
module Tk = Task.Task_client (T)

let calls () =
  let cfg = [ ("path", "/x") ] in
  let blocks = { Types.blocksize = 65536; ranges = [ (0L, 16L); (32L, 8L) ] } in
  let all =
    [
      (fun () -> ignore (P.query "dbg")); (fun () -> ignore (P.ls "dbg"));
      (fun () -> ignore (P.diagnostics "dbg"));
      (fun () -> ignore (S.probe "dbg" [ ("k", "v") ]));
      (fun () -> ignore (S.create "dbg" "uuid1" cfg "name" "desc"));
      (fun () -> ignore (S.attach "dbg" cfg)); (fun () -> ignore (S.detach "dbg" "sr1"));
      (fun () -> ignore (S.destroy "dbg" "sr1")); (fun () -> ignore (S.stat "dbg" "sr1"));
      (fun () -> ignore (S.set_name "dbg" "sr1" "nn"));
      (fun () -> ignore (S.set_description "dbg" "sr1" "nd")); (fun () -> ignore (S.ls "dbg" "sr1"));
      (fun () -> ignore (V.create "dbg" "sr1" "name" "desc" 1073741824L true));
      (fun () -> ignore (V.snapshot "dbg" "sr1" "k1")); (fun () -> ignore (V.clone "dbg" "sr1" "k1"));
      (fun () -> ignore (V.copy "dbg" "sr1" "k1" "sr2")); (fun () -> ignore (V.destroy "dbg" "sr1" "k1"));
      (fun () -> ignore (V.revert "dbg" "sr1" "snap1" "k1"));
      (fun () -> ignore (V.set_name "dbg" "sr1" "k1" "nn"));
      (fun () -> ignore (V.set_description "dbg" "sr1" "k1" "nd"));
      (fun () -> ignore (V.set "dbg" "sr1" "k1" "kk" "vv"));
      (fun () -> ignore (V.unset "dbg" "sr1" "k1" "kk"));
      (fun () -> ignore (V.resize "dbg" "sr1" "k1" 2147483648L)); (fun () -> ignore (V.stat "dbg" "sr1" "k1"));
      (fun () -> ignore (V.compare "dbg" "sr1" "k1" "k2"));
      (fun () -> ignore (V.similar_content "dbg" "sr1" "k1"));
      (fun () -> ignore (V.enable_cbt "dbg" "sr1" "k1")); (fun () -> ignore (V.disable_cbt "dbg" "sr1" "k1"));
      (fun () -> ignore (V.data_destroy "dbg" "sr1" "k1"));
      (fun () -> ignore (V.list_changed_blocks "dbg" "sr1" "k1" "k2" 0L (-1)));
      (fun () -> ignore (V.compose "dbg" "sr1" "k1" "k2"));
      (fun () -> ignore (D.open_ "dbg" "uri1" true)); (fun () -> ignore (D.attach "dbg" "uri1" "5"));
      (fun () -> ignore (D.activate "dbg" "uri1" "5"));
      (fun () -> ignore (D.activate_readonly "dbg" "uri1" "5"));
      (fun () -> ignore (D.import_activate "dbg" "uri1" "0"));
      (fun () -> ignore (D.deactivate "dbg" "uri1" "5")); (fun () -> ignore (D.detach "dbg" "uri1" "5"));
      (fun () -> ignore (D.close "dbg" "uri1"));
      (fun () -> ignore (Da.copy "dbg" "uri1" "0" "nbd://h/e" blocks));
      (fun () -> ignore (Da.mirror "dbg" "uri1" "0" "nbd://h/e"));
      (fun () -> ignore (Da.stat "dbg" (Types.CopyV1 "op1")));
      (fun () -> ignore (Da.cancel "dbg" (Types.MirrorV1 "op2")));
      (fun () -> ignore (Da.destroy "dbg" (Types.CopyV1 "op1"))); (fun () -> ignore (Da.ls "dbg"));
      (fun () -> ignore (Tk.stat "dbg" "task1")); (fun () -> ignore (Tk.cancel "dbg" "task1"));
      (fun () -> ignore (Tk.destroy "dbg" "task1")); (fun () -> ignore (Tk.ls "dbg"));
    ]
  in
  List.iter (fun f -> f ()) all;
  let got = List.rev !sent in
  check_eq "number of calls" "49" (string_of_int (List.length got));
  List.iteri (fun i (e, g) -> check_eq (Printf.sprintf "call %d" (i + 1)) e g)
    (List.combine expected_calls (List.filteri (fun i _ -> i < List.length expected_calls) got));
  (* The error of a call is decoded into the interface's error type. *)
  check "error decoded"
    (match V.stat "dbg" "sr1" "k1" with
    | Error (Types.Unimplemented "x") -> true
    | _ -> false)

(* Servers: JSON-RPC v1 responses. *)
module Volume_impl = struct
  let stub () = Error (Types.Unimplemented "stub")
  let create _ _ _ _ _ _ = stub ()
  let snapshot _ _ _ = stub ()
  let clone _ _ _ = stub ()
  let copy _ _ _ _ = stub ()
  let destroy _ sr key = if sr = "sr1" then Ok () else Error (Types.Volume_does_not_exist key)
  let revert _ _ _ _ = stub ()
  let set_name _ _ _ _ = stub ()
  let set_description _ _ _ _ = stub ()
  let set _ _ _ _ _ = stub ()
  let unset _ _ _ _ = stub ()
  let resize _ _ _ _ = stub ()

  let stat _ _ key =
    Ok
      {
        Types.key; uuid = None; name = "n"; description = "d"; read_write = true; sharable = false;
        virtual_size = 1L; physical_utilisation = 0L; uri = []; keys = []; volume_type = None;
        cbt_enabled = None;
      }

  let compare _ _ _ _ = stub ()
  let similar_content _ _ _ = stub ()
  let enable_cbt _ _ _ = stub ()
  let disable_cbt _ _ _ = stub ()
  let data_destroy _ _ _ = stub ()
  let list_changed_blocks _ _ _ _ _ _ = stub ()
  let compose _ _ _ _ = stub ()
end

module Vs = Volume.Volume_server (Volume_impl)

let servers () =
  check_eq "server success" {|{"result":null,"error":null,"id":7}|}
    (Vs.dispatch {|{"method":"Volume.destroy","params":[{"key":"k1","sr":"sr1","dbg":"d"}],"id":7}|});
  check_eq "server error" {|{"result":null,"error":["Volume_does_not_exist","k1"],"id":0}|}
    (Vs.dispatch {|{"method":"Volume.destroy","params":[{"key":"k1","sr":"sr2","dbg":"d"}],"id":0}|});
  check_eq "server result"
    {|{"result":{"keys":{},"uri":[],"physical_utilisation":0,"virtual_size":1,"sharable":false,"read_write":true,"description":"d","name":"n","key":"k9"},"error":null,"id":1}|}
    (Vs.dispatch {|{"method":"Volume.stat","params":[{"key":"k9","sr":"sr1","dbg":"d","extra":1}],"id":1}|});
  check_eq "missing argument" {|{"result":null,"error":["MarshalError","Expecting named argument 'sr'"],"id":2}|}
    (Vs.dispatch {|{"method":"Volume.destroy","params":[{"key":"k1","dbg":"d"}],"id":2}|});
  check_eq "unknown method" {|{"result":null,"error":["UnknownMethod","Volume.nope"],"id":3}|}
    (Vs.dispatch {|{"method":"Volume.nope","params":[{}],"id":3}|});
  (* A client over the server's dispatch, end to end. *)
  let module C = Volume.Volume_client (struct let rpc = Vs.dispatch end) in
  check "client over server"
    (match C.stat "d" "sr1" "k5" with Ok v -> v.Types.key = "k5" | Error _ -> false)

let () =
  (* The calls first: the request id counter starts at 1 with the first call. *)
  calls ();
  samples ();
  reader ();
  servers ();
  if !failures > 0 then (
    Printf.printf "%d failure(s)\n" !failures;
    exit 1)
  else print_endline "spec_test: all checks passed"
