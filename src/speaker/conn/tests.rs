//! The reader's window: it hands on at most [`READ_WINDOW`] bytes of frames whose credits are
//! still held, and reads on as they are given back.

use std::time::Duration;

use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::time::timeout;

use super::*;

/// Frames of this size in the test: 64 fill the window exactly.
const FRAME: usize = 4096;

/// An UPDATE frame of `FRAME` bytes: the reader checks only the header.
fn frame() -> Vec<u8> {
    let mut f = vec![0u8; FRAME];
    f[..16].fill(0xff);
    f[16..18].copy_from_slice(&(FRAME as u16).to_be_bytes());
    f[18] = 2;
    f
}

async fn next(rx: &mut mpsc::UnboundedReceiver<(u64, ReadEvent)>) -> ReadCredit {
    match timeout(Duration::from_secs(10), rx.recv()).await {
        Ok(Some((7, ReadEvent::Frame(f, credit)))) => {
            assert_eq!(f.len(), FRAME);
            credit
        }
        other => panic!("expected a frame within 10 s, got {other:?}"),
    }
}

#[tokio::test]
async fn the_reader_waits_while_a_window_of_frames_is_unapplied() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let mut client = TcpStream::connect(listener.local_addr().unwrap())
        .await
        .unwrap();
    let (server, _) = listener.accept().await.unwrap();
    let (rd, _wr) = server.into_split();
    let (tx, mut rx) = mpsc::unbounded_channel::<(u64, ReadEvent)>();
    tokio::spawn(read_frames(7, rd, tx));

    let window_frames = READ_WINDOW / FRAME;
    let total = 3 * window_frames;
    let writer = tokio::spawn(async move {
        let bytes = frame().repeat(total);
        client.write_all(&bytes).await.unwrap();
        client
    });

    let mut held = Vec::new();
    for _ in 0..window_frames {
        held.push(next(&mut rx).await);
    }
    // The window is full: nothing more comes while every credit is held. (A bounded wait is
    // the only way to see that nothing arrives.)
    let more = timeout(Duration::from_millis(300), rx.recv()).await;
    assert!(more.is_err(), "a frame beyond the window arrived: {more:?}");

    // One frame's credit back lets exactly one more through.
    held.pop();
    held.push(next(&mut rx).await);
    let more = timeout(Duration::from_millis(300), rx.recv()).await;
    assert!(more.is_err(), "two frames for one credit: {more:?}");

    // Applied as they come, the rest all arrive.
    drop(held);
    for _ in window_frames + 1..total {
        drop(next(&mut rx).await);
    }
    let _client = writer.await.unwrap();
}
