<?php
/**
 * Tells the bot at once when a handled post changes: POST <bot>/wordpress/notice, sent at the end of the request.
 *
 * @package WP_Social_Bot
 */

defined( 'ABSPATH' ) || exit;

/**
 * Works out the event of each change (publish, update, unpublish, trash, delete), keeps one per post for the
 * request, and sends them on shutdown, after the editor's answer has gone where PHP-FPM allows it. No WP-Cron.
 */
class WP_Social_Bot_Notifier {

	/** Seconds a notice may take. */
	const TIMEOUT = 3;

	/**
	 * The notices of this request: post ID => array( 'event' => ..., 'url' => ... ).
	 *
	 * @var array<int, array{event: string, url: string}>
	 */
	private static $queue = array();

	/**
	 * Whether the shutdown sender is hooked.
	 *
	 * @var bool
	 */
	private static $hooked = false;

	/**
	 * Hooks the notifier in.
	 */
	public static function init() {
		add_action( 'wp_after_insert_post', array( __CLASS__, 'after_insert' ), 20, 4 );
		add_action( 'before_delete_post', array( __CLASS__, 'before_delete' ), 10, 2 );
	}

	/**
	 * The event for a post going from one status to another, or null when the bot need not hear of it.
	 *
	 * @param string $old_status The status before ('new' for a post that did not exist).
	 * @param string $new_status The status after.
	 * @return string|null
	 */
	public static function event_for( $old_status, $new_status ) {
		if ( 'publish' === $new_status ) {
			return 'publish' === $old_status ? 'update' : 'publish';
		}
		if ( 'publish' !== $old_status ) {
			return null;
		}
		return 'trash' === $new_status ? 'trash' : 'unpublish';
	}

	/**
	 * On wp_after_insert_post (after the post's meta and terms are saved).
	 *
	 * @param int          $post_id     The post.
	 * @param WP_Post      $post        The post as saved.
	 * @param bool         $update      Whether an existing post was updated.
	 * @param WP_Post|null $post_before The post before, null for a new one.
	 */
	public static function after_insert( $post_id, $post, $update, $post_before ) {
		if ( ! $post instanceof WP_Post || ! WP_Social_Bot_Settings::handles( $post->post_type ) ) {
			return;
		}
		if ( wp_is_post_revision( $post_id ) || wp_is_post_autosave( $post_id ) || 'auto-draft' === $post->post_status ) {
			return;
		}
		$old   = $post_before instanceof WP_Post ? $post_before->post_status : 'new';
		$event = self::event_for( $old, $post->post_status );
		if ( null === $event ) {
			return;
		}
		// A post leaving "publish" is told by the address it had while published.
		$link = in_array( $event, array( 'publish', 'update' ), true ) ? get_permalink( $post ) : get_permalink( $post_before );
		self::queue( (int) $post_id, $event, is_string( $link ) ? $link : '' );
	}

	/**
	 * On before_delete_post: a published post deleted for good.
	 *
	 * @param int          $post_id The post.
	 * @param WP_Post|null $post    The post.
	 */
	public static function before_delete( $post_id, $post = null ) {
		$post = $post instanceof WP_Post ? $post : get_post( $post_id );
		if ( ! $post instanceof WP_Post || 'publish' !== $post->post_status || ! WP_Social_Bot_Settings::handles( $post->post_type ) ) {
			return;
		}
		$link = get_permalink( $post );
		self::queue( (int) $post_id, 'delete', is_string( $link ) ? $link : '' );
	}

	/**
	 * Keeps one notice per post: the last event wins, except that a publish is never turned into an update.
	 *
	 * @param int    $post_id The post.
	 * @param string $event   The event.
	 * @param string $url     The post's address.
	 */
	private static function queue( $post_id, $event, $url ) {
		if ( 'update' === $event && isset( self::$queue[ $post_id ] ) && 'publish' === self::$queue[ $post_id ]['event'] ) {
			$event = 'publish';
		}
		self::$queue[ $post_id ] = array(
			'event' => $event,
			'url'   => $url,
		);
		if ( ! self::$hooked ) {
			self::$hooked = true;
			add_action( 'shutdown', array( __CLASS__, 'send_all' ), 20 );
		}
	}

	/**
	 * The notices waiting in this request (for tests and debugging).
	 *
	 * @return array<int, array{event: string, url: string}>
	 */
	public static function pending() {
		return self::$queue;
	}

	/**
	 * On shutdown: sends every waiting notice. Failures are logged and remembered, never raised.
	 */
	public static function send_all() {
		$queue       = self::$queue;
		self::$queue = array();
		if ( empty( $queue ) || ! WP_Social_Bot_Settings::configured() ) {
			return;
		}
		if ( function_exists( 'fastcgi_finish_request' ) ) {
			fastcgi_finish_request(); // The editor has their answer; the notices go after it.
		}
		$site = home_url();
		foreach ( $queue as $post_id => $notice ) {
			try {
				$answer = WP_Social_Bot_Client::post(
					'/wordpress/notice',
					array(
						'event'   => $notice['event'],
						'post_id' => $post_id,
						'url'     => $notice['url'],
						'site'    => $site,
					),
					self::TIMEOUT
				);
				$failure = WP_Social_Bot_Client::failure( $answer );
			} catch ( Throwable $error ) {
				$failure = $error->getMessage();
			}
			if ( '' !== $failure ) {
				/* translators: 1: an event (publish, update, ...), 2: a post ID, 3: what went wrong. */
				WP_Social_Bot_Settings::record_failure( sprintf( __( 'The %1$s notice for post %2$d failed: %3$s', 'wp-social-bot' ), $notice['event'], $post_id, $failure ) );
			}
		}
	}
}
